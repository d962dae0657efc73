-- wrk script: POST /events, one search event per request whose query holds an email address
-- and a phone number, with a note in its properties: the text redaction at ingest works on
-- (bench/run.py scenarios search and search-redact; docs/performance.md).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
require("common")

request = function()
  counter = counter + 1
  local body = string.format(
    '{"id":"s%s-%d-%d","type":"search_query_submitted","entityType":"search",' ..
    '"searchQuery":"reset the password of jane.doe%d@example.com, call +1 415 555 %04d",' ..
    '"properties":{"page":"/docs/account","note":"asked on 2024-05-01 about version 2.3.1"},' ..
    '"userProperties":{"id":"user-%d","identificationType":"COOKIED"}}',
    run_tag, thread_index or 0, counter, counter % 5000, counter % 10000, counter % 20000)
  return post("/events", body)
end
