-- wrk script: POST /feedback, one thumbs up or down per request, each with a unique client id
-- (so every request is a real insert, and a duplicate would show in the stored row count).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
require("common")

request = function()
  counter = counter + 1
  local kind = counter % 3 == 0 and "negative" or "positive"
  return post("/feedback", string.format(
    '{"id":"f%s-%d-%d","type":"%s","messageId":"msg-%d",' ..
    '"reasons":[{"label":"Inaccurate","details":"bench"}],"details":"from the bench",' ..
    '"userProperties":{"id":"user-%d","identificationType":"COOKIED"}}',
    run_tag, thread_index or 0, counter, kind, counter % 5000, counter % 20000))
end
