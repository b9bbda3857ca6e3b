package drain

import "github.com/redis/rueidis"

// setStatusScript moves a receipt out of "accepted" (已受理), and leaves a
// receipt that a later step already moved on (such as "verified") as it is,
// so a redelivered entry cannot set a status back.
//
// KEYS[1] receipt. ARGV[1] status, ARGV[2] recorded_at, ARGV[3] first
// number (or ""), ARGV[4] note (or ""), ARGV[5] TTL in seconds for a
// receipt Redis no longer held.
var setStatusScript = rueidis.NewLuaScript(`
local current = redis.call('HGET', KEYS[1], 'status')
if current and current ~= 'accepted' then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'recorded_at', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'first_number', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'note', ARGV[4]) end
if not current then redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5])) end
return 1
`)
