// The translation unit that builds fbg_production_pch's precompiled header
// (cmake/ProductionPch.cmake).
