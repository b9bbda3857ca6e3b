package drain

import "github.com/redis/rueidis"

// setStatusesScript moves receipts out of "accepted" (已受理) in one call
// per batch, for the outcomes other than stored (see finish), and leaves a receipt that a later step already moved on (such
// as "verified") as it is, so a redelivered entry cannot set a status back.
//
// KEYS are the receipts. ARGV[1] is the time, ARGV[2] the TTL in seconds
// for a receipt Redis no longer held, then three values per key: status,
// first number (or "") and note (or "").
var setStatusesScript = rueidis.NewLuaScript(`
local at, ttl = ARGV[1], tonumber(ARGV[2])
local changed = 0
for i, key in ipairs(KEYS) do
  local status, first, note = ARGV[3 * i], ARGV[3 * i + 1], ARGV[3 * i + 2]
  local current = redis.call('HGET', key, 'status')
  if not current or current == 'accepted' then
    redis.call('HSET', key, 'status', status, 'recorded_at', at)
    if first ~= '' then redis.call('HSET', key, 'first_number', first) end
    if note ~= '' then redis.call('HSET', key, 'note', note) end
    if not current then redis.call('EXPIRE', key, ttl) end
    changed = changed + 1
  end
end
return changed
`)

// raiseWatermarkScript sets the watermark to ARGV[1] unless it is already
// higher. Stream IDs are "milliseconds-sequence"; both parts fit a Lua
// number exactly (milliseconds stay below 2^53).
var raiseWatermarkScript = rueidis.NewLuaScript(`
local function parse(id)
  local millis, sequence = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(millis), tonumber(sequence)
end
local current = redis.call('GET', KEYS[1])
if current then
  local cm, cs = parse(current)
  local nm, ns = parse(ARGV[1])
  if nm < cm or (nm == cm and ns <= cs) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`)
