"""Budget counters: one Lua script per reservation and per settlement in Redis, shared by
every API instance, or the same in this process (no Redis, or Redis down).

Per budget and period a hash keeps `tokens` and `cost` spent and `rtokens`/`rcost`
reserved, and a sorted set keeps the open reservations (member `id:tokens:cost`, scored by
when each expires, on Redis's own clock). Every reservation first drops the expired ones,
so a reservation whose instance died gives its amount back by itself. A missing hash is a
counter that must be rebuilt from the ledger first: the script says so instead of
guessing zero. Amounts are whole numbers (tokens, cost in billionths) passed as strings,
as Lua would print a large number in exponent form.

All budget keys share one Redis Cluster hash tag: a reservation spans several budgets
(a user's and its role's), which one script can only touch within one slot.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio

from application.budgets import Amount, BudgetCounters, Counted, Hold, Outcome, Reservation
from domain.budget import nano
from infrastructure import metrics
from infrastructure.redis_scripts import RedisScripts

log = logging.getLogger(__name__)

FAILURES = (redis.RedisError, OSError, TimeoutError)
# Counters outlive their period by this much, then Redis forgets them.
KEPT_AFTER_RESET_SECONDS = 3600

PURGE = """
local function less(counter, field, amount)
  -- Redis reads '-0' as no number at all
  if amount ~= '0' then redis.call('HINCRBY', counter, field, '-' .. amount) end
end
local function purge(counter, holds, now)
  local gone = redis.call('ZRANGEBYSCORE', holds, '-inf', now)
  for _, member in ipairs(gone) do
    local tokens, cost = string.match(member, ':(%d+):(%d+)$')
    less(counter, 'rtokens', tokens)
    less(counter, 'rcost', cost)
  end
  if #gone > 0 then redis.call('ZREMRANGEBYSCORE', holds, '-inf', now) end
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
"""

# KEYS: per hold its counter, then its reservations. ARGV: member, ask tokens, ask cost,
# expires in (ms), then per hold: token limit, cost limit (-1: none), keys expire at (ms).
RESERVE = (
    PURGE
    + """
local member, tokens, cost = ARGV[1], ARGV[2], ARGV[3]
local holds = #KEYS / 2
for i = 1, holds do
  if redis.call('EXISTS', KEYS[2 * i - 1]) == 0 then return {0, 0, i} end
end
for i = 1, holds do
  local counter = KEYS[2 * i - 1]
  purge(counter, KEYS[2 * i], now)
  local c = redis.call('HMGET', counter, 'tokens', 'cost', 'rtokens', 'rcost')
  local token_limit = tonumber(ARGV[2 + 3 * i])
  local cost_limit = tonumber(ARGV[3 + 3 * i])
  if token_limit >= 0 and tonumber(c[1]) + tonumber(c[3]) + tonumber(tokens) > token_limit then
    return {0, i, 0}
  end
  if cost_limit >= 0 and tonumber(c[2]) + tonumber(c[4]) + tonumber(cost) > cost_limit then
    return {0, i, 0}
  end
end
local expires = now + tonumber(ARGV[4])
for i = 1, holds do
  local counter, open = KEYS[2 * i - 1], KEYS[2 * i]
  redis.call('HINCRBY', counter, 'rtokens', tokens)
  redis.call('HINCRBY', counter, 'rcost', cost)
  redis.call('ZADD', open, expires, member)
  redis.call('PEXPIREAT', open, ARGV[4 + 3 * i])
end
return {1, 0, 0}
"""
)

# KEYS as RESERVE. ARGV: member, ask tokens, ask cost, spent tokens, spent cost.
SETTLE = (
    PURGE
    + """
local member = ARGV[1]
for i = 1, #KEYS / 2 do
  local counter, open = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('EXISTS', counter) == 1 then
    if redis.call('ZREM', open, member) == 1 then
      less(counter, 'rtokens', ARGV[2])
      less(counter, 'rcost', ARGV[3])
    end
    redis.call('HINCRBY', counter, 'tokens', ARGV[4])
    redis.call('HINCRBY', counter, 'cost', ARGV[5])
  end
end
return 1
"""
)

# KEYS: a counter. ARGV: tokens, cost, expire at (ms).
SEED = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'tokens', ARGV[1], 'cost', ARGV[2], 'rtokens', '0', 'rcost', '0')
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
return 1
"""

# KEYS: a counter and its reservations.
COUNTED = (
    PURGE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
purge(KEYS[1], KEYS[2], now)
return redis.call('HMGET', KEYS[1], 'tokens', 'cost', 'rtokens', 'rcost')
"""
)


def member_of(reservation: Reservation) -> str:
    return f"{reservation.id}:{reservation.ask.tokens}:{reservation.ask.cost}"


def limits_of(hold: Hold) -> tuple[int, int]:
    budget = hold.budget
    tokens = -1 if budget.tokens is None else budget.tokens
    cost = -1 if budget.cost is None else nano(budget.cost)
    return tokens, cost


def forgotten_at(hold: Hold) -> int:
    """When Redis may forget the hold's keys (ms since the epoch)."""
    return int((hold.period.resets_at.timestamp() + KEPT_AFTER_RESET_SECONDS) * 1000)


@dataclass(slots=True)
class LocalCounter:
    spent: list[int]
    forget_at: float
    reserved: dict[str, tuple[float, Amount]] = field(default_factory=dict)

    def purge(self, now: float) -> None:
        for member in [m for m, (until, _) in self.reserved.items() if until <= now]:
            del self.reserved[member]

    def counted(self) -> Counted:
        tokens = sum(a.tokens for _, a in self.reserved.values())
        cost = sum(a.cost for _, a in self.reserved.values())
        return Counted(Amount(self.spent[0], self.spent[1]), Amount(tokens, cost))


class LocalBudgetCounters:
    """The same counters in this process: without Redis, and while it is down."""

    def __init__(self) -> None:
        self.counters: dict[str, LocalCounter] = {}
        self.lock = threading.Lock()

    async def reserve(self, reservation: Reservation, expires_in: int) -> Outcome:
        now = time.time()
        with self.lock:
            self.sweep(now)
            found = [self.counters.get(hold.key) for hold in reservation.holds]
            for index, counter in enumerate(found):
                if counter is None:
                    return Outcome(False, unseeded=index)
            for index, (hold, counter) in enumerate(zip(reservation.holds, found, strict=True)):
                assert counter is not None
                counter.purge(now)
                if over(limits_of(hold), counter.counted(), reservation.ask):
                    return Outcome(False, refused_by=index)
            for counter in found:
                assert counter is not None
                counter.reserved[reservation.id] = (now + expires_in, reservation.ask)
            return Outcome(True)

    async def seed(self, hold: Hold, spent: Amount) -> None:
        with self.lock:
            if hold.key not in self.counters:
                forget_at = forgotten_at(hold) / 1000
                self.counters[hold.key] = LocalCounter([spent.tokens, spent.cost], forget_at)

    async def settle(self, reservation: Reservation, spent: Amount) -> None:
        with self.lock:
            for hold in reservation.holds:
                counter = self.counters.get(hold.key)
                if counter is not None:
                    counter.reserved.pop(reservation.id, None)
                    counter.spent[0] += spent.tokens
                    counter.spent[1] += spent.cost

    async def counted(self, hold: Hold) -> Counted | None:
        with self.lock:
            counter = self.counters.get(hold.key)
            if counter is None:
                return None
            counter.purge(time.time())
            return counter.counted()

    def sweep(self, now: float) -> None:
        """Forget counters of periods long over, so memory follows the current periods."""
        for key in [k for k, c in self.counters.items() if c.forget_at <= now]:
            del self.counters[key]

    async def aclose(self) -> None:
        return None


def over(limits: tuple[int, int], counted: Counted, ask: Amount) -> bool:
    token_limit, cost_limit = limits
    spent, reserved = counted.spent, counted.reserved
    if token_limit >= 0 and spent.tokens + reserved.tokens + ask.tokens > token_limit:
        return True
    return cost_limit >= 0 and spent.cost + reserved.cost + ask.cost > cost_limit


class RedisBudgetCounters:
    """Counters in Redis, shared by every API instance: one script call per reservation."""

    def __init__(
        self, url: str, namespace: str, fallback: LocalBudgetCounters | None = None
    ) -> None:
        self.namespace = namespace
        self.fallback = fallback or LocalBudgetCounters()
        scripts = {"reserve": RESERVE, "settle": SETTLE, "seed": SEED, "counted": COUNTED}
        self.redis = RedisScripts(url, scripts, "budgets", metrics.BUDGET_STORE_FAILURES)
        self.held_here: set[str] = set()  # reservations the fallback took

    def keys(self, hold: Hold) -> list[str]:
        base = f"{self.namespace}:budget:{{budgets}}:{hold.key}"
        return [base, base + ":reserved"]

    def all_keys(self, reservation: Reservation) -> list[str]:
        return [key for hold in reservation.holds for key in self.keys(hold)]

    async def reserve(self, reservation: Reservation, expires_in: int) -> Outcome:
        if not self.redis.down:
            ask = reservation.ask
            args: list[Any] = [member_of(reservation), ask.tokens, ask.cost, expires_in * 1000]
            for hold in reservation.holds:
                args += [*limits_of(hold), forgotten_at(hold)]
            try:
                script = self.redis.script("reserve")
                reply = await script(keys=self.all_keys(reservation), args=args)
            except FAILURES as error:
                self.redis.failed(error)
            else:
                taken, refused, unseeded = (int(v) for v in reply)
                if taken:
                    return Outcome(True)
                if refused:
                    return Outcome(False, refused_by=refused - 1)
                return Outcome(False, unseeded=unseeded - 1)
        outcome = await self.fallback.reserve(reservation, expires_in)
        if outcome.taken:
            self.held_here.add(reservation.id)
        return outcome

    async def seed(self, hold: Hold, spent: Amount) -> None:
        if not self.redis.down:
            try:
                args = [spent.tokens, spent.cost, forgotten_at(hold)]
                await self.redis.script("seed")(keys=self.keys(hold)[:1], args=args)
                return
            except FAILURES as error:
                self.redis.failed(error)
        await self.fallback.seed(hold, spent)

    async def settle(self, reservation: Reservation, spent: Amount) -> None:
        if reservation.id in self.held_here:
            self.held_here.discard(reservation.id)
            await self.fallback.settle(reservation, spent)
            return
        ask = reservation.ask
        args = [member_of(reservation), ask.tokens, ask.cost, spent.tokens, spent.cost]
        try:
            await self.redis.script("settle")(keys=self.all_keys(reservation), args=args)
        except FAILURES as error:
            # Its reservation expires; the ledger has what was spent, for the next rebuild.
            self.redis.failed(error)

    async def counted(self, hold: Hold) -> Counted | None:
        if self.redis.down:
            return await self.fallback.counted(hold)
        try:
            reply = await self.redis.script("counted")(keys=self.keys(hold), args=[])
        except FAILURES as error:
            self.redis.failed(error)
            return await self.fallback.counted(hold)
        if not reply:
            return None
        tokens, cost, reserved_tokens, reserved_cost = (int(v) for v in reply)
        return Counted(Amount(tokens, cost), Amount(reserved_tokens, reserved_cost))

    async def aclose(self) -> None:
        await self.redis.aclose()


def budget_counters(redis_url: str | None, namespace: str) -> BudgetCounters:
    """In Redis when there is one (every instance shares them), else in this process."""
    if redis_url is None:
        return LocalBudgetCounters()
    return RedisBudgetCounters(redis_url, namespace)
