-- POST /introspect of a token introspected for the first time: each thread walks the tokens
-- that thread of the client_credentials scenario minted (BENCH_TOKENS_IN plus its number).
-- When they run out it starts over, and the `wrapped` line says the figure is no longer fresh.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local tokens, next_token = {}, 1
function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS_IN") .. "." .. id) do
    tokens[#tokens + 1] = line
  end
end

function request()
  local token = tokens[next_token]
  next_token = next_token + 1
  if next_token > #tokens then
    next_token = 1
    io.stderr:write("wrapped\n")
  end
  return wrk.format(nil, nil, nil, "token=" .. token)
end
