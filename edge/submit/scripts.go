package submit

import (
	"fmt"

	"github.com/redis/rueidis"

	"github.com/sh-preschool/preschool/shared/enrolment"
)

// The scripts run in one round trip and atomically: a receipt is handed out
// only together with its stream entry. The "#!lua" line makes Redis refuse
// the whole script up front when it is out of memory, instead of failing
// half-way. XADD comes right after the number is drawn, so a later failure
// can lose a claim (the database's unique keys still catch a repeat) but
// never a submission.
//
// The receipt and owner keys are built inside the scripts from prefixes,
// which a standalone or Sentinel Redis allows and Redis Cluster would not.

// luhn is shared by both scripts; it returns the Luhn check digit of a
// string of digits.
const luhn = `
local function luhn(digits)
  local sum, double = 0, true
  for i = #digits, 1, -1 do
    local d = string.byte(digits, i) - 48
    if double then
      d = d * 2
      if d > 9 then d = d - 9 end
    end
    sum = sum + d
    double = not double
  end
  return string.char(48 + (10 - sum % 10) % 10)
end
`

// Outcomes of the claim scripts, the first value they return.
const (
	claimTaken   = 0
	claimCreated = 1
	// claimNoLayout: the print layout the registration names is not in
	// Redis, and nothing was claimed. The edge stores the layout and runs
	// the script again.
	claimNoLayout = 2
	// claimRevoked: the parent's session was revoked (signed out), and
	// nothing was claimed.
	claimRevoked = 3
)

// revokedCheck returns the Lua that rejects a submission from a revoked
// session before anything else, when the caller passes the session's
// revocation key as KEYS[n].
func revokedCheck(n int) string {
	return fmt.Sprintf(`if KEYS[%[1]d] and redis.call('EXISTS', KEYS[%[1]d]) == 1 then
  return {%[2]d, ''}
end
`, n, claimRevoked)
}

// registerScript claims a child's registration for a year.
//
// KEYS[1] claim, KEYS[2] sequence, KEYS[3] stream, KEYS[4] print layout,
// KEYS[5] the session's revocation key, if the caller checks it here.
// ARGV[1] payload hash, ARGV[2] year, ARGV[3] receipt key prefix,
// ARGV[4] owner set key, ARGV[5] stream body, ARGV[6] accepted_at,
// ARGV[7] owner index, ARGV[8] TTL in seconds, ARGV[9..] receipt fact
// field/value pairs. The receipt also keeps the stream body in enrolment.FieldRecord,
// from which the edge prints the form.
//
// Returns {1, number} for a new registration, {0, "number|hash|owner"}
// when the child has one already, and {2, ""} when the print layout is
// missing, and {3, ""} when the session was revoked. Each receipt that
// names the layout moves the layout's expiry later, never earlier (EXPIRE
// GT, Redis 7.0), so the layout outlives them all even after the receipt
// TTL is lowered.
var registerScript = rueidis.NewLuaScript(`#!lua
` + luhn + revokedCheck(5) + `
local claim = redis.call('GET', KEYS[1])
if claim then
  return {0, claim}
end
local ttl = tonumber(ARGV[8])
if redis.call('EXPIRE', KEYS[4], ttl, 'GT') == 0 and redis.call('EXISTS', KEYS[4]) == 0 then
  return {2, ''}
end
local sequence = redis.call('INCR', KEYS[2])
local payload = string.format('%04d%07d', tonumber(ARGV[2]), sequence)
local number = payload .. luhn(payload)
local entry = redis.call('XADD', KEYS[3], '*', 'kind', 'registration', 'number', number, 'body', ARGV[5])
redis.call('SET', KEYS[1], number .. '|' .. ARGV[1] .. '|' .. ARGV[7], 'EX', ttl)
local receipt = ARGV[3] .. number
redis.call('HSET', receipt, 'kind', 'registration', 'status', 'accepted', 'entry', entry, 'owner', ARGV[7], 'accepted_at', ARGV[6], '` + enrolment.FieldRecord + `', ARGV[5], unpack(ARGV, 9))
redis.call('EXPIRE', receipt, ttl)
redis.call('SADD', ARGV[4], number)
redis.call('EXPIRE', ARGV[4], ttl)
return {1, number}
`)

// applyScript claims a child's application for a year, in one district.
//
// KEYS[1] claim, KEYS[2] sequence, KEYS[3] stream, KEYS[4] the session's
// revocation key, if the caller checks it here.
// ARGV[1] payload hash, ARGV[2] year, ARGV[3] receipt key prefix,
// ARGV[4] owner set key, ARGV[5] stream body, ARGV[6] accepted_at,
// ARGV[7] owner index, ARGV[8] TTL in seconds, ARGV[9] district code,
// ARGV[10..] receipt fact field/value pairs.
//
// Returns {1, number} for a new application, {0, "number|hash|district"}
// when the child has a live application already, and {3, ""} when the
// session was revoked.
var applyScript = rueidis.NewLuaScript(`#!lua
` + luhn + revokedCheck(4) + `
local claim = redis.call('GET', KEYS[1])
if claim then
  return {0, claim}
end
local sequence = redis.call('INCR', KEYS[2])
local district = ARGV[9]
local payload = string.format('%04d%s%07d', tonumber(ARGV[2]), string.sub(district, -2), sequence)
local number = payload .. luhn(payload)
local entry = redis.call('XADD', KEYS[3], '*', 'kind', 'application', 'number', number, 'body', ARGV[5])
local ttl = tonumber(ARGV[8])
redis.call('SET', KEYS[1], number .. '|' .. ARGV[1] .. '|' .. district, 'EX', ttl)
local receipt = ARGV[3] .. number
redis.call('HSET', receipt, 'kind', 'application', 'status', 'accepted', 'entry', entry, 'owner', ARGV[7], 'accepted_at', ARGV[6], unpack(ARGV, 10))
redis.call('EXPIRE', receipt, ttl)
redis.call('SADD', ARGV[4], number)
redis.call('EXPIRE', ARGV[4], ttl)
return {1, number}
`)
