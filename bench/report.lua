-- wrk script for the benchmark: GET requests that rotate through header sets,
-- and one machine-readable result line.
--
--   wrk -t1 -c16 -d10s --latency -s bench/report.lua http://127.0.0.1:8080/api/models -- HEADERS_FILE
--
-- HEADERS_FILE holds one request variant per line, headers separated by " | ",
-- e.g. "Authorization: Bearer sk-webui_… | User-Agent: webui-bench". Every endpoint,
-- /health included, goes through the same Lua path so wrk costs the same for each.

local pool = {}
local counter = 0

local function parse_headers(line)
  local headers = {}
  for part in string.gmatch(line, "[^|]+") do
    local name, value = part:match("^%s*([^:]+):%s*(.-)%s*$")
    if name then headers[name] = value end
  end
  return headers
end

function init(args)
  local path = args[1]
  if path and path ~= "-" then
    for line in io.lines(path) do
      if #line > 0 then table.insert(pool, wrk.format("GET", nil, parse_headers(line))) end
    end
  end
  if #pool == 0 then pool[1] = wrk.format("GET", nil, {}) end
  counter = math.random(#pool)
end

function request()
  counter = counter % #pool + 1
  return pool[counter]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH-RESULT requests=%d duration_us=%d status_errors=%d socket_errors=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
