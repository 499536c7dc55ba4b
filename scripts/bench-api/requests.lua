-- wrk script: cycles through the signed paths in requests.txt (written by requests.py),
-- each wrk thread starting at its own offset; counts FAILED answers.
local paths = {}
for line in io.lines(os.getenv("REQUESTS") or "requests.txt") do
  paths[#paths + 1] = line
end
local i = 0
failed = 0 -- global: read by done() through thread:get
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  i = id * 97
end

function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, "<returncode>FAILED</returncode>", 1, true) then
    failed = failed + 1
  end
end

function done(summary, latency, requests)
  local f = 0
  for _, t in ipairs(threads) do f = f + t:get("failed") end
  io.write(string.format("FAILED answers: %d of %d\n", f, summary.requests))
end
