-- The whole authorization code flow with a live session, as one operation of three requests:
-- GET /authorize (303 with a code) -> POST /token -> GET /userinfo.
local session = os.getenv("BENCH_SESSION")
local basic = os.getenv("BENCH_BASIC")
local verifier = os.getenv("BENCH_VERIFIER")
local challenge = os.getenv("BENCH_CHALLENGE")
local authorize = "/authorize?response_type=code&client_id=bench&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb"
  .. "&scope=openid%20profile%20roles&state=s&nonce=n&code_challenge=" .. challenge
  .. "&code_challenge_method=S256"

local step, code, access_token = 1, nil, nil

request = function()
  if step == 2 and code then
    return wrk.format("POST", "/token", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Authorization"] = "Basic " .. basic,
    }, "grant_type=authorization_code&code=" .. code
      .. "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&code_verifier=" .. verifier)
  elseif step == 3 and access_token then
    return wrk.format("GET", "/userinfo", { ["Authorization"] = "Bearer " .. access_token })
  end
  step = 1
  return wrk.format("GET", authorize, { ["Cookie"] = "tessera_session=" .. session })
end

response = function(status, headers, body)
  if step == 1 then
    local location = headers["location"] or headers["Location"] or ""
    code = string.match(location, "[?&]code=([^&]+)")
    step = code and 2 or 1
  elseif step == 2 then
    access_token = string.match(body, '"access_token":"([^"]+)"')
    step = access_token and 3 or 1
  else
    step = 1
  end
end
