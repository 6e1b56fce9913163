-- wrk script for `cargo xtask bench`: GET /<random id> on every request, so
-- no cache can help, and one machine-readable summary line at the end.

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + thread_id)
end

function request()
  return wrk.format("GET", "/" .. math.random(1, 2147483647))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'XTASK {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(99),
    latency.max))
end
