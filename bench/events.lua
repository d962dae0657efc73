-- wrk script: POST /events, one message event per request, each with a unique client id
-- (so every request is a real insert, and duplicates would show up in the row count).
local counter = 0
local thread_tag = tostring(math.random(1, 1e9))

request = function()
  counter = counter + 1
  local body = string.format(
    '{"id":"bench-%s-%d","type":"assistant_message_copied","messageId":"msg-%d",' ..
    '"entityType":"message","properties":{"source":"bench","page":"/docs/start"},' ..
    '"userProperties":{"id":"user-%d","identificationType":"COOKIED"}}',
    thread_tag, counter, counter % 5000, counter % 20000)
  return wrk.format("POST", "/events", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("THREADLINE_KEY"),
  }, body)
end

done = function(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f non2xx=%d errors=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.duration / 1e6,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
