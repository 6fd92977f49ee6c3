"""Demo consumers of an Andhra Pradesh DISCOM: names, homes and shops, loads, languages, habits;
and their registration in bulk (one transaction, a few multi-row statements).

Names are common Telugu given names and surnames in English spelling, as the DISCOM's records keep
them; about 70% prefer Telugu. Most connections are LT-I homes, some LT-II shops, with sanctioned
loads that fit what they have plugged in. They joined WattWallet already in service (a wallet
balance brought over, no first-recharge rule), as when a DISCOM moves its consumers to prepaid.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

from wattwallet.consumers import registration
from wattwallet.context import Context
from wattwallet.domain import clock, rating
from wattwallet.simulation import consumption, habits
from wattwallet.store import bulk, schema

FIRST_SERVICE_NO = 3_216_540_000_001  # 13 digits, as the DISCOM's service numbers are
SERIAL_PREFIX = "SM-AP-"
TELUGU_SHARE = 0.7
SHOP_SHARE = 0.15
WHATSAPP_SHARE = 0.3

WOMEN = (
    "Lakshmi", "Padmavathi", "Anjali", "Sravani", "Lavanya", "Swathi", "Bhavani", "Durga Devi",
    "Sirisha", "Madhavi", "Annapurna", "Sujatha", "Haritha", "Sailaja", "Vijaya Lakshmi", "Rama Devi",
    "Kavitha", "Aruna Kumari", "Satyavathi", "Nagamani",
)  # fmt: skip
MEN = (
    "Venkata Ramana", "Srinivas Rao", "Ravi Kumar", "Venkatesh", "Nagaraju", "Suresh Babu",
    "Satyanarayana", "Prasad", "Rambabu", "Chandra Sekhar", "Mahesh", "Krishna Murthy", "Subba Rao",
    "Naresh", "Kiran Kumar", "Anil Kumar", "Koteswara Rao", "Appa Rao", "Sambasiva Rao", "Rajesh",
)  # fmt: skip
SURNAMES = (
    "Reddy", "Naidu", "Chowdary", "Kommineni", "Yarlagadda", "Pothula", "Gummadi", "Bandaru",
    "Vemula", "Kotha", "Tadikonda", "Nallamothu", "Pasupuleti", "Shaik", "Boddu", "Gorantla",
    "Mandava", "Peddireddy", "Chilukuri", "Dasari",
)  # fmt: skip
SHOP_NAMES = (
    "Sri Venkateswara Kirana Stores", "Lakshmi Tiffin Centre", "Sai Ram Mobiles", "Annapurna Hotel",
    "Durga Medicals", "Balaji Tailors", "Srinivasa Xerox", "Sri Sai Fancy Store", "Kanaka Durga Bakery",
    "Ganesh Electricals", "Sri Rama Cool Drinks", "Vijaya Fruits", "Padmavathi Sweets",
    "Sai Krishna Hardware", "Mahalakshmi Textiles",
)  # fmt: skip
TOWNS = ("Vijayawada", "Guntur", "Nellore", "Ongole", "Tirupati", "Kakinada", "Eluru", "Rajahmundry")
_MOBILE_HEADS = ("98480", "94400", "99490", "70136", "63000", "81210", "96666", "77300", "89780")

# kind, size, share, (load W from, to), (daily Wh from, to), chance of AC, (AC W from, to)
_SIZES = (
    (consumption.HOME, "small", 0.35, (1_000, 1_000), (2_500, 3_500), 0.0, (0, 0)),
    (consumption.HOME, "medium", 0.45, (2_000, 3_000), (4_500, 6_500), 0.4, (1_100, 1_300)),
    (consumption.HOME, "large", 0.20, (4_000, 5_000), (8_000, 11_000), 0.9, (1_500, 2_500)),
    (consumption.SHOP, "small", 0.50, (2_000, 3_000), (5_000, 8_000), 0.0, (0, 0)),
    (consumption.SHOP, "medium", 0.35, (5_000, 5_000), (12_000, 16_000), 0.5, (1_500, 1_500)),
    (consumption.SHOP, "large", 0.15, (10_000, 10_000), (25_000, 35_000), 0.9, (3_000, 3_000)),
)
# Opening balance in days of expected cost, by habit (from, to).
_OPENING_DAYS = {
    habits.Habit.EARLY: (6.0, 25.0),
    habits.Habit.AFTER_ZERO_ALERT: (2.0, 5.0),
    habits.Habit.AFTER_DISCONNECTION: (0.6, 1.5),
    habits.Habit.NEVER: (0.6, 1.5),
}


@dataclasses.dataclass(frozen=True)
class Person:
    service_no: str
    name: str
    category: str  # LT-I | LT-II
    language: str  # te | en
    mobile: str
    meter_serial: str
    register_wh: int  # the meter's register when it joins
    profile: consumption.Profile
    habit: habits.Habit
    opening_paise: int
    whatsapp: bool


def profile_for(*, kind: str, rng: random.Random, load_w: int | None = None) -> consumption.Profile:
    """A believable profile of `kind`; with `load_w`, the size that fits that sanctioned load."""
    sizes = [size for size in _SIZES if size[0] == kind]
    if load_w is None:
        size = rng.choices(sizes, weights=[s[2] for s in sizes])[0]
        load = rng.randrange(size[3][0], size[3][1] + 1, 500)
    else:
        size = next((s for s in sizes if load_w <= s[3][1]), sizes[-1])
        load = load_w
    _, name, _, _, (low, high), ac_chance, (ac_low, ac_high) = size
    daily = rng.randrange(low, high + 1, 100)
    ac = rng.randrange(ac_low, ac_high + 1, 100) if rng.random() < ac_chance else 0
    return consumption.Profile(kind=kind, size=name, daily_wh=daily, ac_w=min(ac, load), load_w=load)


def kind_of(category: str) -> str:
    return consumption.SHOP if category == "LT-II" else consumption.HOME


def generate(ctx: Context, *, count: int, seed: int, start: dt.date) -> list[Person]:
    """`count` consumers, the same for the same seed; habits in the proportions of habits.MIX."""
    rng = random.Random(f"{seed}/population")
    plan = habits.quotas(count)
    rng.shuffle(plan)
    people = []
    for index, habit in enumerate(plan):
        shop = rng.random() < SHOP_SHARE
        category = "LT-II" if shop else "LT-I"
        profile = profile_for(kind=kind_of(category), rng=rng)
        if shop:
            name = f"{rng.choice(SHOP_NAMES)}, {rng.choice(TOWNS)}"
        else:
            name = f"{rng.choice(WOMEN if rng.random() < 0.5 else MEN)} {rng.choice(SURNAMES)}"
        serial = f"{SERIAL_PREFIX}{index + 1:06d}"
        low, high = _OPENING_DAYS[habit]
        cost = daily_cost_paise(ctx, profile=profile, category=category, day=start, seed=seed, key=serial)
        people.append(
            Person(
                service_no=str(FIRST_SERVICE_NO + index),
                name=name,
                category=category,
                language="te" if rng.random() < TELUGU_SHARE else "en",
                mobile=f"+91{rng.choice(_MOBILE_HEADS)}{rng.randrange(100_000):05d}",
                meter_serial=serial,
                register_wh=rng.randrange(1_000_000, 30_000_000),
                profile=profile,
                habit=habit,
                opening_paise=max(100, round(cost * rng.uniform(low, high))),
                whatsapp=rng.random() < WHATSAPP_SHARE,
            )
        )
    return people


def daily_cost_paise(
    ctx: Context, *, profile: consumption.Profile, category: str, day: dt.date, seed: int, key: str
) -> int:
    """About what a day costs this connection around `day`: a month of days like it, rated on the
    tariff in force, divided by 30."""
    wh = sum(consumption.half_hours(profile, day, rng=consumption.rng_for(seed=seed, key=key, day=day)))
    month = day.replace(day=1)
    charge = rating.rate_day(
        ctx.tariffs,
        category=category,
        load_w=profile.load_w,
        day=month,
        wh=30 * wh,
        mtd_wh_before=0,
        month_first_day=month,
    )
    return max(1, charge.total_paise // 30)


def register(ctx: Context, people: list[Person], *, now: dt.datetime) -> None:
    """Register everyone through `registration.add_many` (the one writer of connections), with the
    wallet balance brought over and any WhatsApp opt-in."""
    today = clock.ist_date(now)
    checked = [
        registration.parse(
            ctx,
            service_no=p.service_no,
            consumer_name=p.name,
            category=p.category,
            load_kw=Decimal(p.profile.load_w) / 1000,
            mode="prepaid",
            mobile=p.mobile,
            language=p.language,
            meter_serial=p.meter_serial,
            register_kwh=Decimal(p.register_wh) / 1000,
            first_recharge_done=True,
            opening_balance_paise=p.opening_paise,
            today=today,
        )
        for p in people
    ]
    with ctx.store.write() as conn:
        registration.add_many(ctx, conn, checked, now=now)
        bulk.insert(
            conn,
            schema.channel_preferences,
            ("service_no", "channel", "enabled", "updated_at"),
            [(p.service_no, "whatsapp", True, now) for p in people if p.whatsapp],
        )
