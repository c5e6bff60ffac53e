// The translation unit that builds fbg_test_pch's precompiled header (tests/CMakeLists.txt).
