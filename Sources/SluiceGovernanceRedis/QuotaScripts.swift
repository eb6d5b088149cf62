import SluiceRedis

/// The Lua scripts behind ``RedisQuotaStore``: each decision runs in one script, atomically on the Redis server, so
/// replicas sharing Redis never interleave inside one.
///
/// Keys (prefix `sluice:q:`):
/// - `rate:<name>`: a rate limit's theoretical arrival time, in microseconds since 1970 (Redis `TIME`), expiring
///   once the limit is whole again.
/// - `budget:<counter>`: a hash: `seeded`, `mark` (the ledger row the seed summed through), `ut`/`um` (tokens and
///   micro-dollars used), `rt`/`rm` (reserved); expires a day after its period ends.
/// - `budget:<counter>:open`: the open reservations, a sorted set of `id|tokens|micros` by expiry.
/// - `budget:<counter>:early`: settlements before the seed, ledger row id → `tokens|micros`.
/// - `resv:<request id>`: a reservation: its member, its budget counters and token rate limits, its token estimate,
///   joined by the unit separator (0x1F), expiring an hour after the reservation does.
///
/// Numbers are Lua doubles: exact below 2^53 (9.0e15 micro-dollars, or microsecond times until the year 2255), and
/// written with `%.0f`, never `tostring`, which rounds past 14 digits; negations are `0 - x`, since `-x` of a zero
/// is `-0`, which Redis does not take for an integer. Each script reads a budget's fields once and writes what it
/// changed in one command: every command a decision saves is Redis CPU on every request. The scripts touch the keys a reservation
/// names, which its settling replica does not know in advance: Sluice needs a standalone Redis (or a primary with
/// replicas), not Redis Cluster.
enum QuotaScripts {
    /// Shared helpers, prepended to each script.
    private static let prelude = """
        local WINDOW = 60000000
        local function now()
          local t = redis.call('TIME')
          return tonumber(t[1]) * 1000000 + tonumber(t[2])
        end
        local function int(x) return string.format('%.0f', x) end
        local function parse(member)
          local id, t, m = string.match(member, '^(.*)|(%-?%d+)|(%-?%d+)$')
          return id, tonumber(t), tonumber(m)
        end
        -- Releases the expired reservations of a budget; returns the tokens and micro-dollars released.
        local function release_expired(bkey, okey, at)
          local expired = redis.call('ZRANGEBYSCORE', okey, '-inf', at)
          local rt, rm = 0, 0
          for _, member in ipairs(expired) do
            if redis.call('ZREM', okey, member) == 1 then
              local _, t, m = parse(member)
              rt = rt + t
              rm = rm + m
            end
          end
          if rt ~= 0 or rm ~= 0 then
            redis.call('HINCRBY', bkey, 'rt', int(0 - rt))
            redis.call('HINCRBY', bkey, 'rm', int(0 - rm))
          end
          return rt, rm
        end
        -- A reservation's record: its member, budget keys, token rate limits and estimate, joined by \\31.
        local SEP = '\\31'
        local function unpack_reservation(packed)
          local fields = {}
          local from = 1
          while true do
            local at = string.find(packed, SEP, from, true)
            if not at then
              table.insert(fields, string.sub(packed, from))
              return fields
            end
            table.insert(fields, string.sub(packed, from, at - 1))
            from = at + 1
          end
        end

        """

    /// Admits a request.
    ///
    /// KEYS: the reservation, `R` rate keys, `B` budget hashes, `B` open-reservation sets.
    /// ARGV: `R`, `B`, tokens, micros, expiry (µs), whether to keep a reservation (1/0), the member, then 3 per rate
    /// (unit 0 requests / 1 tokens, per minute, amount), then 3 per budget (token limit and money limit, -1 when
    /// unset; when its counter expires, ms).
    ///
    /// Returns `{'seed', j…}` for unseeded budgets, `{'rate', unit, limit, remaining, reset µs, retry µs or -1}`,
    /// `{'budget', j}`, or `{'ok', requests limit, remaining, reset µs, tokens limit, remaining, reset µs}` with -1
    /// for a unit no limit counted.
    static let admit = RedisScript(
        prelude + """
            local R = tonumber(ARGV[1])
            local B = tonumber(ARGV[2])
            local tokens = tonumber(ARGV[3])
            local micros = tonumber(ARGV[4])
            local expires = tonumber(ARGV[5])
            local keep = ARGV[6] == '1'
            local member = ARGV[7]
            local t = now()
            local unseeded = {}
            local counts = {}
            for j = 1, B do
              local v = redis.call('HMGET', KEYS[1 + R + j], 'seeded', 'ut', 'um', 'rt', 'rm')
              if v[1] ~= '1' then table.insert(unseeded, j) end
              counts[j] = {tonumber(v[2] or '0'), tonumber(v[3] or '0'), tonumber(v[4] or '0'), tonumber(v[5] or '0')}
            end
            if #unseeded > 0 then
              table.insert(unseeded, 1, 'seed')
              return unseeded
            end
            local arrivals = {}
            local best = {}
            for i = 1, R do
              local base = 7 + (i - 1) * 3
              local unit = tonumber(ARGV[base + 1])
              local per = tonumber(ARGV[base + 2])
              local amount = tonumber(ARGV[base + 3])
              local start = math.max(tonumber(redis.call('GET', KEYS[1 + i]) or t), t)
              local ahead = start + math.floor(amount * WINDOW / per) - t
              if ahead > WINDOW then
                local retry = -1
                if amount <= per then retry = ahead - WINDOW end
                local remaining = math.max(0, math.floor((WINDOW - (start - t)) * per / WINDOW))
                return {'rate', unit, per, remaining, int(start - t), int(retry)}
              end
              arrivals[i] = t + ahead
              local remaining = math.max(0, math.floor((WINDOW - ahead) * per / WINDOW))
              if best[unit] == nil or remaining < best[unit][2] then best[unit] = {per, remaining, ahead} end
            end
            for j = 1, B do
              local released_t, released_m = release_expired(KEYS[1 + R + j], KEYS[1 + R + B + j], t)
              local c = counts[j]
              c[3] = c[3] - released_t
              c[4] = c[4] - released_m
              local base = 7 + R * 3 + (j - 1) * 3
              local tl = tonumber(ARGV[base + 1])
              local ml = tonumber(ARGV[base + 2])
              if (tl >= 0 and c[1] + c[3] + tokens > tl) or (ml >= 0 and c[2] + c[4] + micros > ml) then
                return {'budget', j}
              end
            end
            for i = 1, R do
              redis.call('SET', KEYS[1 + i], int(arrivals[i]), 'PX', math.ceil((arrivals[i] - t) / 1000) + 1000)
            end
            local budgets = {}
            for j = 1, B do
              local bkey = KEYS[1 + R + j]
              local okey = KEYS[1 + R + B + j]
              redis.call('HSET', bkey, 'rt', int(counts[j][3] + tokens), 'rm', int(counts[j][4] + micros))
              redis.call('ZADD', okey, int(expires), member)
              redis.call('PEXPIREAT', okey, ARGV[7 + R * 3 + j * 3])
              table.insert(budgets, bkey)
            end
            if keep then
              local rates = {}
              local estimate = 0
              for i = 1, R do
                local base = 7 + (i - 1) * 3
                if ARGV[base + 1] == '1' then
                  table.insert(rates, KEYS[1 + i] .. ' ' .. ARGV[base + 2])
                  estimate = tonumber(ARGV[base + 3])
                end
              end
              local packed = table.concat({member, table.concat(budgets, '\\n'), table.concat(rates, '\\n'),
                int(estimate)}, SEP)
              redis.call('SET', KEYS[1], packed, 'PXAT', int(math.floor(expires / 1000) + 3600000))
            end
            local out = {'ok'}
            for unit = 0, 1 do
              local b = best[unit]
              if b then
                table.insert(out, b[1]); table.insert(out, b[2]); table.insert(out, int(b[3]))
              else
                table.insert(out, -1); table.insert(out, -1); table.insert(out, -1)
              end
            end
            return out
            """
    )

    /// Seeds a budget counter unless it is seeded.
    ///
    /// KEYS: the budget hash, its early settlements. ARGV: tokens, micros, mark, expiry (ms).
    static let seed = RedisScript(
        prelude + """
            if redis.call('HGET', KEYS[1], 'seeded') == '1' then return 0 end
            local ut, um = tonumber(ARGV[1]), tonumber(ARGV[2])
            local mark = tonumber(ARGV[3])
            local early = redis.call('HGETALL', KEYS[2])
            for i = 1, #early, 2 do
              if tonumber(early[i]) > mark then
                local t, m = string.match(early[i + 1], '^(%-?%d+)|(%-?%d+)$')
                ut = ut + tonumber(t)
                um = um + tonumber(m)
              end
            end
            redis.call('HSET', KEYS[1], 'seeded', '1', 'mark', ARGV[3], 'ut', int(ut), 'um', int(um))
            redis.call('DEL', KEYS[2])
            redis.call('PEXPIREAT', KEYS[1], ARGV[4])
            return 1
            """
    )

    /// Settles a request.
    ///
    /// KEYS: the reservation, `C` budget hashes, their `C` early-settlement hashes. ARGV: `C`, ledger row id, tokens,
    /// micros, then the `C` budgets' expiries (ms).
    static let settle = RedisScript(
        prelude + """
            local C = tonumber(ARGV[1])
            local ledger = tonumber(ARGV[2])
            local tokens, micros = tonumber(ARGV[3]), tonumber(ARGV[4])
            local t = now()
            local packed = redis.call('GETDEL', KEYS[1])
            if packed then
              local r = unpack_reservation(packed)
              local _, rt, rm = parse(r[1])
              for bkey in string.gmatch(r[2] or '', '[^\\n]+') do
                if redis.call('ZREM', bkey .. ':open', r[1]) == 1 then
                  redis.call('HINCRBY', bkey, 'rt', int(0 - rt))
                  redis.call('HINCRBY', bkey, 'rm', int(0 - rm))
                end
              end
              local delta = tokens - tonumber(r[4] or '0')
              for line in string.gmatch(r[3] or '', '[^\\n]+') do
                local rkey, per = string.match(line, '^(.*) (%d+)$')
                local stored = redis.call('GET', rkey)
                if stored then
                  local arrival = math.max(tonumber(stored) + math.floor(delta * WINDOW / tonumber(per)), t)
                  redis.call('SET', rkey, int(arrival), 'PX', math.ceil((arrival - t) / 1000) + 1000)
                end
              end
            end
            for c = 1, C do
              local bkey = KEYS[1 + c]
              local v = redis.call('HMGET', bkey, 'seeded', 'mark')
              if v[1] == '1' then
                if ledger > tonumber(v[2]) then
                  redis.call('HINCRBY', bkey, 'ut', ARGV[3])
                  redis.call('HINCRBY', bkey, 'um', ARGV[4])
                end
              else
                redis.call('HSET', KEYS[1 + C + c], ARGV[2], ARGV[3] .. '|' .. ARGV[4])
                redis.call('PEXPIREAT', KEYS[1 + C + c], ARGV[4 + c])
              end
            end
            return 1
            """
    )

    /// Reads budget counters, releasing expired reservations first.
    ///
    /// KEYS: `N` budget hashes, then their `N` open-reservation sets. Returns per counter `{seeded, ut, um, rt, rm}`.
    static let status = RedisScript(
        prelude + """
            local N = #KEYS / 2
            local t = now()
            local out = {}
            for j = 1, N do
              release_expired(KEYS[j], KEYS[N + j], t)
              local v = redis.call('HMGET', KEYS[j], 'seeded', 'ut', 'um', 'rt', 'rm')
              table.insert(out, {v[1] or '0', v[2] or '0', v[3] or '0', v[4] or '0', v[5] or '0'})
            end
            return out
            """
    )
}
