// Lua shared by the scripts our relays send with EVAL.
#pragma once

namespace fbg {

// Defines lastGeneratedMs(key): the ms part (text) of the stream's last-generated-id, or nil
// when the stream does not exist. Not the last entry's id: XDEL and trimming keep the
// last-generated-id, and XADD refuses any id at or below it. An entry added as
// lastGeneratedMs(key) .. '-*' goes after everything the stream ever held, and below any id
// with a larger ms part (the relays' own "<seq>-0" ids that come next).
inline constexpr const char* kLuaLastGeneratedMs = R"lua(
local function lastGeneratedMs(key)
  local info = redis.pcall('XINFO', 'STREAM', key)
  if type(info) ~= 'table' or info.err then return nil end
  for j = 1, #info, 2 do
    if info[j] == 'last-generated-id' then return string.match(info[j + 1], '^(%d+)-') end
  end
  return nil
end
)lua";

}  // namespace fbg
