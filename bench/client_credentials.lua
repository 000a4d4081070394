-- POST /token with grant_type=client_credentials and HTTP Basic client authentication. With
-- BENCH_TOKENS_OUT set, each thread appends the access tokens it gets to that path plus its
-- number, for the fresh-token introspection scenario.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
wrk.body = "grant_type=client_credentials&scope=roles"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local out = nil
function init(args)
  local path = os.getenv("BENCH_TOKENS_OUT")
  if path then
    out = io.open(path .. "." .. id, "w")
  end
end

function response(status, headers, body)
  if out then
    local token = string.match(body, '"access_token":"([^"]+)"')
    if token then
      out:write(token, "\n")
    end
  end
end

