-- Shared by bench/events.lua and bench/batch.lua (wrk 4.1 scripts): thread numbering for unique
-- client ids, the event body both scripts send, status counting, and the RESULT line that
-- bench/run.py parses.

local threads = {}

-- Runs in wrk's main Lua state, once per wrk thread, before that thread's first request.
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
end

-- Counted in each thread's own Lua state (globals, so done() can read them with thread:get).
status_2xx, status_503, status_503_no_retry_after, status_other = 0, 0, 0, 0

-- Defining `response` makes wrk hand every response to Lua, which costs wrk CPU; run.py sets
-- BENCH_COUNT_STATUS=0 to measure that cost (docs/performance.md).
if os.getenv("BENCH_COUNT_STATUS") ~= "0" then
  function response(status, headers, body)
    if status < 300 then
      status_2xx = status_2xx + 1
    elseif status == 503 then
      status_503 = status_503 + 1
      if headers["Retry-After"] == nil and headers["retry-after"] == nil then
        status_503_no_retry_after = status_503_no_retry_after + 1
      end
    else
      status_other = status_other + 1
    end
  end
end

-- Unique within a run: the run tag, the wrk thread, and a per-thread counter.
run_tag = os.getenv("BENCH_RUN") or tostring(os.time())
counter = 0

function next_event()
  counter = counter + 1
  return string.format(
    '{"id":"b%s-%d-%d","type":"assistant_message_copied","messageId":"msg-%d",' ..
    '"entityType":"message","properties":{"source":"bench","page":"/docs/start"},' ..
    '"userProperties":{"id":"user-%d","identificationType":"COOKIED"}}',
    run_tag, thread_index or 0, counter, counter % 5000, counter % 20000)
end

function post(path, body)
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. (os.getenv("THREADLINE_KEY") or "none"),
  }, body)
end

function done(summary, latency, requests)
  local ok, s503, bare, other, counted = 0, 0, 0, 0, 1
  for _, thread in ipairs(threads) do
    ok = ok + thread:get("status_2xx")
    s503 = s503 + thread:get("status_503")
    bare = bare + thread:get("status_503_no_retry_after")
    other = other + thread:get("status_other")
  end
  if response == nil then
    counted = 0
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_s=%.3f non2xx=%d counted=%d status_2xx=%d status_503=%d " ..
    "status_503_no_retry_after=%d status_other=%d connect=%d read=%d write=%d timeout=%d " ..
    "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f mean_ms=%.2f\n",
    summary.requests, summary.duration / 1e6, e.status, counted, ok, s503, bare, other,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    latency.mean / 1000))
end
