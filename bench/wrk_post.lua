-- wrk script for bench/checkin_load.py: POST {"badge": ...} with a bearer token.
-- Arguments (after `--`): badge file (one per line), token, wrk's thread count (-t).
-- Each request takes the next badge of the file: a file at least as long as the run needs
-- gives first-time scans (each badge once); when it runs out, badges are reused round-robin
-- and `wrapped` says so (what duplicate scans and the ceilings want).
-- done() prints one line "RESULT {json}" with latency percentiles and answers by status.

threads = {}

-- wrk calls setup() and then init() for one thread before it sets up the next.
function setup(thread)
  thread:set("thread_number", #threads)
  table.insert(threads, thread)
end

function init(args)
  badges = {}
  for line in io.lines(args[1]) do
    if #line > 0 then badges[#badges + 1] = line end
  end
  thread_count = tonumber(args[3] or "1")
  statuses = {}
  wrapped = 0
  next_index = thread_number
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if args[2] and #args[2] > 0 then
    wrk.headers["Authorization"] = "Bearer " .. args[2]
  end
end

function request()
  if next_index >= #badges then
    wrapped = 1
  end
  local badge = badges[(next_index % #badges) + 1]
  next_index = next_index + thread_count
  return wrk.format(nil, nil, nil, '{"badge":"' .. badge .. '"}')
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts, was_wrapped = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
    if thread:get("wrapped") == 1 then was_wrapped = 1 end
  end
  local parts = {}
  for status, n in pairs(counts) do
    parts[#parts + 1] = string.format('"%d":%d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
      .. '"max_us":%d,"mean_us":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,'
      .. '"status":%d,"timeout":%d},"statuses":{%s},"wrapped":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status,
    e.timeout, table.concat(parts, ","), was_wrapped))
end
