"""The message map's Lua: records packed in small hashes per (room, day), found in one round trip.

Layout (issue 23's Redis bytes: about three keys a message cost ~70 bytes each before any
content; here a message costs one field in a shared, listpack-encoded hash):

- ``tl:m:<room>``: the room's live windows (a sorted set: day number -> the time its buckets
  expire), newest first for lookups;
- ``tl:m:<room>:<day>``: that window's size, its number of buckets as a string (a linear
  hash table: it grows one bucket at a time, splitting the next bucket in turn, so that each
  bucket stays small enough to keep Redis's compact encoding);
- ``tl:m:<room>:<day>:<b>``: a bucket. A field is a message id (or, for ids of 11 characters
  or more, an 11-character hash of it, bridge.relay.maps.field); its value one ``\\x1f``-
  separated record:
  - an origin message: ``<expiry>|<sender>|<root>|<media>|<id if hashed>|<room>\\x1d<ids>...``
    (copy ids joined by ``\\x1e``);
  - a copy (or a notice that takes replies): ``><expiry>|<origin room>|<origin>`` where the
    origin is ``#<field>`` (its record holds the real id) or the origin id itself;
  - ``''`` -> ``''``: the bucket's keeper, so that it is never emptied (and made again
    without its expiry).

``<expiry>`` is base 36 seconds from the window's start: a reader treats a record past it as
absent, so expiry is exact per ``retention.message_map_days`` although a bucket lives until
its window's end plus the retention. The bucket address is the low bits of the field's SHA-1
(``redis.sha1hex``), so a split can rehash fields without knowing the ids.

Everything is one script (one SHA, EVALSHA) with an operation name as its first argument;
keys are built inside it (standalone Redis and Sentinel, not Cluster).
"""

from __future__ import annotations

DAY_S = 86400  # a table's window
LOAD = 48  # fields per bucket on average before the table grows a bucket (in INSERT)

# The insert itself, inline (the commit script runs it per message: a Lua function defined
# per call is a closure to collect, which measured ~8 us a call in Redis 6.2). Needs locals
# room, w (day), f (field), h (its address hash), v (value), nx, ret (retention), now; sets
# added (1 when written).
INSERT = r"""
local meta = 'tl:m:' .. room .. ':' .. w
local at = (w + 1) * 86400 + ret
local n = tonumber(redis.call('GET', meta))
local created = false
if not n then
  n, created = 1, true
  redis.call('SET', meta, 1, 'EXAT', at)
  local idx = 'tl:m:' .. room
  redis.call('ZADD', idx, at, w)
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
  redis.call('EXPIREAT', idx, top[2])
end
local half = 1
while half * 2 <= n do half = half * 2 end
local b = h % (2 * half)
if b >= n then b = b - half end
local key = meta .. ':' .. b
if nx then added = redis.call('HSETNX', key, f, v) else added = redis.call('HSET', key, f, v) end
if created then  -- a bucket is made with its expiry and a '' field, so it is never emptied
  redis.call('HSET', key, '', '')
  redis.call('EXPIREAT', key, at)
end
if added == 1 and math.floor(h / 65536) % 48 == 0 then  -- 1 in 48: grow by one bucket
  local src, dst = meta .. ':' .. (n - half), meta .. ':' .. n
  local all = redis.call('HGETALL', src)
  local moved, names = {'', ''}, {}
  for i = 1, #all, 2 do
    local x = all[i]
    if x ~= '' and tonumber(string.sub(redis.sha1hex(x), 1, 7), 16) % (2 * half) == n then
      moved[#moved + 1] = x
      moved[#moved + 1] = all[i + 1]
      names[#names + 1] = x
    end
  end
  redis.call('HSET', dst, unpack(moved))
  redis.call('EXPIREAT', dst, at)
  if #names > 0 then redis.call('HDEL', src, unpack(names)) end
  redis.call('SET', meta, n + 1, 'KEEPTTL')
end
"""

LIB = (
    r"""
local DAY = 86400
local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
local function hof(f) return tonumber(string.sub(redis.sha1hex(f), 1, 7), 16) end
-- an id as a field: itself when short, else the first 11 base64url characters of its SHA-1
local function field(id)
  if #id < 11 then return id end
  local hx, out = redis.sha1hex(id), {}
  for g = 0, 5 do
    local v = tonumber(string.sub(hx, 3 * g + 1, 3 * g + 3), 16)
    local a, b = math.floor(v / 64), v % 64
    out[#out + 1] = string.sub(B64, a + 1, a + 1) .. string.sub(B64, b + 1, b + 1)
  end
  return string.sub(table.concat(out), 1, 11)
end
local function b36(x)
  local s, d = '', '0123456789abcdefghijklmnopqrstuvwxyz'
  x = math.max(math.floor(x), 0)
  repeat
    local r = x % 36
    s = string.sub(d, r + 1, r + 1) .. s
    x = math.floor(x / 36)
  until x == 0
  return s
end
local function bucket(meta, n, f)
  local half = 1
  while half * 2 <= n do half = half * 2 end
  local b = hof(f) % (2 * half)
  if b >= n then b = b - half end
  return meta .. ':' .. b
end
local function put(room, w, f, v, nx, ret, now)
  local h, added = hof(f), 0
"""
    + INSERT
    + r"""
  return added
end
"""
)

READ = r"""
local function alive(v, w, now)
  local e = string.match(v, '^>?([^\031]*)')
  return w * DAY + tonumber(e, 36) > now
end
-- the value stored for field f in room (newest window first), its bucket and its window
local function find(room, f, now)
  local wins = redis.call('ZREVRANGEBYSCORE', 'tl:m:' .. room, '+inf', '(' .. now)
  for _, w in ipairs(wins) do
    local meta = 'tl:m:' .. room .. ':' .. w
    local n = tonumber(redis.call('GET', meta))
    if n then
      local key = bucket(meta, n, f)
      local v = redis.call('HGET', key, f)
      if v then
        if alive(v, tonumber(w), now) then return v, key, tonumber(w) end
        return nil
      end
    end
  end
  return nil
end
local function parts(v)
  local out = {}
  for p in string.gmatch(v .. '\031', '([^\031]*)\031') do out[#out + 1] = p end
  return out
end
local function record(room, id, now)
  local v, key, w = find(room, field(id), now)
  if v and string.sub(v, 1, 1) ~= '>' then return v, key, w end
  return nil
end
-- a copy's origin as "<room>/<id>", or nil
local function origin_of(room, id, now)
  local v = find(room, field(id), now)
  if not v or string.sub(v, 1, 1) ~= '>' then return nil end
  local p = parts(v)
  if string.sub(p[3], 1, 1) ~= '#' then return p[2] .. '/' .. p[3] end
  local r = find(p[2], string.sub(p[3], 2), now)
  if not r or string.sub(r, 1, 1) == '>' then return nil end
  local q = parts(r)
  return p[2] .. '/' .. (q[5] ~= '' and q[5] or string.sub(p[3], 2))
end
local function without(v, room)
  local p, kept = parts(v), {}
  for i, x in ipairs(p) do
    if i <= 5 or string.sub(x, 1, #room + 1) ~= room .. '\029' then kept[#kept + 1] = x end
  end
  return kept
end
"""


OPS = r"""
local op, now = ARGV[1], tonumber(ARGV[2])
if op == 'rec' then  -- room, id, old key: {'n', packed} or {'o', old hash}
  local v, _, w = record(ARGV[3], ARGV[4], now)
  if v then return {'n', v, w} end
  return {'o', redis.call('HGETALL', ARGV[5])}
elseif op == 'copy' then  -- room, id, old copy key
  return origin_of(ARGV[3], ARGV[4], now) or redis.call('GET', ARGV[5])
elseif op == 'canon' then  -- room, id, old copy key, old origin key prefix
  local ref = origin_of(ARGV[3], ARGV[4], now) or redis.call('GET', ARGV[5])
  local room, id = ARGV[3], ARGV[4]
  if ref then room, id = string.match(ref, '^([^/]*)/(.*)$') end
  local v = record(room, id, now)
  if v then return {room .. '/' .. id, 'n', v} end
  return {room .. '/' .. id, 'o', redis.call('HGETALL', ARGV[6] .. room .. ':' .. id)}
elseif op == 'strip' then  -- room, id, old key, rooms to drop...
  local v, key = record(ARGV[3], ARGV[4], now)
  if v then
    local p = parts(v)
    for i = 6, #ARGV do p = without(table.concat(p, '\031'), ARGV[i]) end
    p[2], p[3], p[4] = '', '-', ''
    if #p > 5 then redis.call('HSET', key, field(ARGV[4]), table.concat(p, '\031'))
    else redis.call('HDEL', key, field(ARGV[4])) end  -- nothing left to name
  end
  redis.call('HDEL', ARGV[5], '.sender', '.root', '.ts', '.media', unpack(ARGV, 6))
  return 1
elseif op == 'add' then
  -- room, id, copy room, copy ids, old key, retention, life, what: '0' record and pointers,
  -- '1' pointers only (a notice), '2' the record only (a report's own message); unless: a
  -- key whose existence cancels it (the origin retracted while its copy was on its way)
  if ARGV[11] and ARGV[11] ~= '' and redis.call('EXISTS', ARGV[11]) == 1 then return 0 end
  local room, id, croom, ret = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[8])
  local f = field(id)
  local ref = (f ~= id) and ('#' .. f) or id
  local v, key, w, e
  if ARGV[10] ~= '1' then v, key, w = record(room, id, now) end
  if v then
    local kept = without(v, croom)
    kept[#kept + 1] = croom .. '\029' .. ARGV[6]
    redis.call('HSET', key, f, table.concat(kept, '\031'))
    e = string.match(v, '^([^\031]*)')
  else
    w = math.floor(now / DAY)
    e = b36(now + tonumber(ARGV[9]) - w * DAY)
    if ARGV[10] == '1' then
      ref = id
    elseif redis.call('EXISTS', ARGV[7]) == 1 then  -- a record of the older layout
      local json = {}
      for x in string.gmatch(ARGV[6], '[^\030]+') do json[#json + 1] = cjson.encode(x) end
      redis.call('HSET', ARGV[7], croom, '[' .. table.concat(json, ', ') .. ']')
      redis.call('EXPIRE', ARGV[7], ret)
      ref = id
    else  -- a call-out's copies: their record starts here
      local rec = {e, '', '', '', (f ~= id) and id or '', croom .. '\029' .. ARGV[6]}
      put(room, w, f, table.concat(rec, '\031'), false, ret, now)
    end
  end
  for cid in string.gmatch(ARGV[10] ~= '2' and ARGV[6] or '', '[^\030]+') do
    put(croom, w, field(cid), '>' .. e .. '\031' .. room .. '\031' .. ref, false, ret, now)
  end
  return 1
elseif op == 'del' then  -- room, id, copy room, copy ids (\030), old key, old copy key prefix
  local croom = ARGV[5]
  local v, key = record(ARGV[3], ARGV[4], now)
  if v then
    local p = without(v, croom)
    if #p > 5 or p[2] ~= '' or p[3] ~= '-' then
      redis.call('HSET', key, field(ARGV[4]), table.concat(p, '\031'))
    else
      redis.call('HDEL', key, field(ARGV[4]))  -- stripped, and its last copy gone
    end
  end
  redis.call('HDEL', ARGV[7], croom)
  for cid in string.gmatch(ARGV[6], '[^\030]+') do
    local c, ckey = find(croom, field(cid), now)
    if c and string.sub(c, 1, 1) == '>' then redis.call('HDEL', ckey, field(cid)) end
    redis.call('DEL', ARGV[8] .. cid)
  end
  return 1
end
return redis.error_reply('unknown map operation')
"""

SCRIPT = LIB + READ + OPS
