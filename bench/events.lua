-- wrk script: POST /events, one message event per request, each with a unique client id (so
-- every request is a real insert, and a duplicate would show in the stored row count).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
require("common")

request = function()
  return post("/events", next_event())
end
