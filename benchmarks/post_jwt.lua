-- wrk script: POST the request body in $BENCH_BODY with a fresh client JWT per request, read from $BENCH_TOKENS
-- (one per line, each used once: a reused token would be a replay and count as an error).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i + 1
  wrk.headers["Authorization"] = "Bearer " .. tokens[((i - 1) % #tokens) + 1]
  return wrk.format()
end
