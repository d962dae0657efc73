-- wrk script: POST /batch, BENCH_BATCH_SIZE (default 100) events per request, each with a unique
-- client id; the same event bodies as bench/events.lua sends to POST /events.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
require("common")

local size = tonumber(os.getenv("BENCH_BATCH_SIZE") or "100")
local items = {}

request = function()
  for i = 1, size do
    items[i] = '{"kind":"event","body":' .. next_event() .. '}'
  end
  return post("/batch", '{"items":[' .. table.concat(items, ",") .. ']}')
end
