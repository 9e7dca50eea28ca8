"""The demo client: a Salesforce-style CRM export of a Swiss SaaS firm, with planted truths.

``generate(out_dir, n_accounts=20_000, seed=42, as_of="2026-06-30")`` writes the files listed in
``docs/architecture.md`` ("Demo client"), ``truth.json`` (the generative story's parameters and
model-expected quantities) and ``truth_accounts.parquet`` (per-account latent truths) into
``out_dir``. Same arguments give byte-identical files. The command line is
``salesanalytics demo-data --out DIR [--accounts N] [--seed S] [--as-of DATE]``.

The client ("Digitalwerk Schweiz AG", fictitious) sells websites, SEO, online advertising, listings,
online booking and social-media services as monthly subscriptions to small Swiss businesses through
field sales (visits), tele sales (phone) and inside/online sales.

Generative story
----------------
Time: ``as_of`` is "today". Contract history covers the 60 months before ``as_of``
(``history_start = as_of - 60 months``); activities cover the last 730 days. One *month* in
durations is 30.4375 days.

Geography. Each account gets a real Swiss postal code drawn with probability proportional to its
2016 population (:func:`salesanalytics.reference.geo.postal_codes`, codes with a population figure), the
postal code's mean GeoNames coordinates plus a uniform jitter inside a disc of radius 0.8 km,
its canton and municipality. ``urban = 1`` if the postal code's population density is at least the
2/3-quantile of density over all postal codes with population and area (unweighted: the densest
third of postal codes); the threshold is recorded in ``truth.json``.

Firmographics. Industry from 11 small-business industries with fixed shares; employees =
``ceil(LogNormal(log 6, 0.8))`` for 97% and ``ceil(LogNormal(log 50, 0.8))`` for 3% ("larger
companies"), capped at 5,000, drawn independently of industry and place. About 1% of accounts are
locations of a group (``ParentId`` = the group's head account; same industry as the head).
Three accounts carry HTML-special names (:data:`HTML_NAMES`).

Potential. True monthly revenue potential in CHF::

    log(pot) = b0 + 0.6 * log(employees) + industry_effect + 0.15 * urban + N(0, 0.25**2)

with ``b0`` and the industry effects in ``truth.json['potential']``. A (current or former)
customer's MRR (sum of its contracts' MRR, all active until churn) is ``pot * penetration``,
``penetration ~ Beta(2, 3)``, up to rounding of each contract to CHF 0.05. Penetration is
independent of everything else, so the slope of log(MRR) on log(employees) is 0.6 at every
conditional quantile.

Other account fields. ``CreatedDate`` = the earliest of its deals' creation, ``customer_since``
and its activities, minus 0-180 days (accounts without any: 30 days to 8 years before
``as_of``). ``Channel_Preference__c`` = the serving channel for 70% of customers and 50% of former
customers, a random channel for 20% of prospects, else empty. ``AnnualRevenue`` = employees x
CHF 140,000 x LogNormal(0, 0.4), rounded to CHF 1,000, empty for 35%. Group locations are named
"<head name> – Filiale <place>".

Territories (status quo). Five region teams own ranges of 2-digit postal-code prefixes; inside a
region, each field rep owns a contiguous range of prefixes, cut near equal population shares but
displaced at random by up to 40% of a share ("historically grown", hence unbalanced).
Account ``OwnerId`` = the field rep owning the account's prefix; the top 1% of accounts by
potential are key accounts owned by the nearest of 4 key account managers. Four field reps were
hired in the last 6 months; they took over from an inactive predecessor (``IsActive = false``)
who owns every contract, deal and activity dated before the new rep's hire date.

Channels. Each account has one serving channel (``field``, ``tele``, ``online``): key accounts
are ``field``; others are drawn with probabilities proportional to ``w_c * exp(theta_c * z)``
(``z`` = standardised log potential, ``w = (0.45, 0.35, 0.20)``, ``theta = (0.8, 0, -0.8)``).
A customer's acquisition channel is its serving channel. Field deals and activities are done
by the account owner, tele by one of the region's two tele reps, online by the region's inside
sales rep.

Customers and churn. Each account is "won" with probability 0.52 at a date drawn over
``[history_start, as_of + 120 days]`` with linearly growing density (``1 + 0.2 x``); accounts
won after ``as_of`` are prospects with an open deal. At acquisition: first-contract term
(1/12/24/36 months, probabilities by channel), auto-renewal (Bernoulli 0.5, independent), number
of products at start ``n0`` (1-3, by channel). Time to churn ``T`` (months since
``customer_since``) follows the Weibull proportional-hazards model::

    S(t | x) = exp(-(t / scale) ** 0.8 * exp(x beta))

with hazard ratios term 1: 1.8, 12: 1 (reference), 24: 0.75, 36: 0.6; auto-renewal 0.65;
channel field 1 (reference), tele 1.25, online 1.6; 0.8 per product beyond the first. ``scale``
is set so that 15% of reference customers churn in their first 12 months. Churn date =
``customer_since + max(1, round(T * 30.4375))`` days, censored at ``as_of``. At churn every
contract of the account ends (``Status = Terminated``, ``Cancellation_Date__c`` = churn date) and
the account becomes a ``Former Customer``.

Contracts. The won new-business deal creates ``n0`` contracts (the first starts at
``customer_since``, the others 1-28 days later, never after churn), same term and auto-renewal.
Products: weighted sampling without replacement (Gumbel top-k) with channel-dependent weights
(complex products more often in field), only products launched by the start date. Upsell
opportunities arrive as a Poisson process (0.35 per year) from 60 days after ``customer_since``
until churn / ``as_of``; each offers the account's next preferred product (skipped if not yet
launched); won upsells start a contract on the close date (own term and auto-renewal). Upsell
deals that would close after the churn date are not generated. Finally each account's contract
MRRs (list price x U(0.85, 1)) are rescaled so their sum equals ``pot * penetration``.

Channel x product family (planted matrix). A lost new-business deal's product is drawn with the
weight popularity x complexity tilt of its channel x a loss factor per family and channel
(:data:`CHANNEL_FAMILY_LOSS`): the number of lost deals per channel and stage is unchanged, only
their mix over families shifts, so SEO wins far more often in the field and Listings as often online
as by tele. ``truth.json['channel_matrix']`` records the factors and the expected win rate of closed
new-business deals per channel and family (won closed deals, by the deal's main product = its
largest initial contract, ÷ (won + expected lost closed deals)) and the channel expected per family.

Funnels. New business: Prospecting -> Qualification -> Needs Analysis -> Proposal -> Negotiation
-> Closed Won/Lost with stage-to-stage conversion ``[0.70, 0.65, 0.60, 0.75, 0.80]``; existing
customers (upsell): Qualification -> Proposal -> Negotiation -> Closed with ``[0.85, 0.75, 0.80]``
(rate ``k`` = share of deals that entered stage ``k`` and reached the next stage; the last rate
is Negotiation -> Closed Won). Days in a stage ~ ``max(1, round(Gamma(2,
mean/2)))``. Won new-business deals close on ``customer_since`` (Amount = 12 x MRR of the
initial contracts, one line item per initial contract). Lost new-business deals: for every won
deal, Poisson numbers of deals lost at each stage so that the stage conversion rates hold in
expectation; they have the same closing-date distribution as won deals and belong to accounts
never won. Renewals: a renewal deal opens 60 days before each term end of non-auto-renewing
contracts (term >= 12) with the deal created in the activity window; it is won on the term end if
the account has not churned by then, otherwise lost on the churn date (renewal outcomes follow the
churn model, not the funnel rates). Deals still running at ``as_of`` are open (censored) in the
stage they reached; deals created after ``as_of`` do not exist. ``OpportunityHistory`` has one row
per stage entered (``CreatedDate`` = entered at), including the closing stage.

File format. UTF-8 CSV with a header row, text fields quoted, ISO dates (``YYYY-MM-DD``),
booleans ``true``/``false``, empty = missing. Ids are 18-character Salesforce-style ids: the
standard key prefix (001 Account, 005 User, 01t Product2, 800 Contract, 006 Opportunity,
008 OpportunityHistory, 00k OpportunityLineItem, 00T Task, 00U Event), ``5g00``, 8 sequential
base-62 digits and Salesforce's 3-character case-safe checksum
(:func:`salesforce_id_checksum`). Large tables are written in chunks; the output does not depend
on the chunking.

Activities (last 730 days). Yearly rates per account = base rate (by serving channel and type)
x value multiplier ``clip((pot / median pot) ** 0.3, 0.5, 3)`` x status multiplier (customer 1,
former customer 0.3, prospect 0.4); counts Poisson, dates uniform. Field: visits, calls, e-mails;
tele: calls, e-mails; online: e-mails, online sessions. Minutes ~ LogNormal with means visit 60,
call 12, email 6, online_session 30 (sigma 0.5), rounded to whole minutes (>= 1). Visits also
need travel (not in the export): distance = haversine(rep home, account) x 1.3 (road factor),
return trip, at 50 km/h; travel cost CHF 0.70 per km. Cost per minute of a channel =
``Cost_Per_Year_CHF / (Capacity_Hours * 60)``. The expected yearly cost-to-serve per account is
in ``truth_accounts.parquet`` (``expected_cost_to_serve``) and averaged by channel and status in
``truth.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from salesanalytics.errors import ParameterError, UserError
from salesanalytics.reference import geo

__all__ = [
    "CHANNEL_FAMILY_LOSS",
    "CHANNEL_RATES",
    "CHURN",
    "CLIENT_NAME",
    "DEMO_COUNTRIES",
    "FILES",
    "FUNNEL",
    "HTML_NAMES",
    "INDUSTRIES",
    "POTENTIAL",
    "PRODUCTS",
    "REGIONS",
    "REGIONS_DE",
    "generate",
    "register_cli",
    "salesforce_id_checksum",
]

CLIENT_NAME = "Digitalwerk Schweiz AG (demo)"

FILES: dict[str, tuple[str, ...]] = {
    "Account.csv": (
        "Id", "Name", "BillingStreet", "BillingPostalCode", "BillingCity", "BillingState",
        "BillingCountry", "BillingLatitude", "BillingLongitude", "Industry", "NumberOfEmployees",
        "AnnualRevenue", "Type", "OwnerId", "ParentId", "CreatedDate", "Customer_Since__c",
        "Channel_Preference__c",
    ),
    "User.csv": (
        "Id", "FirstName", "LastName", "Name", "Title", "Sales_Role__c", "PostalCode", "City",
        "Latitude", "Longitude", "FTE__c", "Capacity_Hours__c", "Department", "ManagerId",
        "IsActive", "Hire_Date__c",
    ),
    "Product2.csv": (
        "Id", "Name", "ProductCode", "Family", "IsActive", "List_Price__c", "Complexity__c",
        "Cost_Share__c", "Launch_Date__c",
    ),
    "Contract.csv": (
        "Id", "ContractNumber", "AccountId", "OwnerId", "Status", "StartDate", "EndDate",
        "ContractTerm", "Product__c", "MRR__c", "Auto_Renewal__c", "Sales_Channel__c",
        "Cancellation_Date__c",
    ),
    "Opportunity.csv": (
        "Id", "Name", "AccountId", "OwnerId", "Type", "StageName", "Amount", "CreatedDate",
        "CloseDate", "IsClosed", "IsWon", "LeadSource", "Sales_Channel__c",
    ),
    "OpportunityHistory.csv": ("Id", "OpportunityId", "StageName", "CreatedDate", "Amount", "CloseDate"),
    "OpportunityLineItem.csv": ("Id", "OpportunityId", "Product2Id", "Quantity", "UnitPrice", "TotalPrice"),
    "Task.csv": (
        "Id", "OwnerId", "AccountId", "WhatId", "ActivityDate", "Subject", "TaskSubtype",
        "CallDurationInSeconds", "Duration_Minutes__c", "Channel__c",
    ),
    "Event.csv": (
        "Id", "OwnerId", "AccountId", "WhatId", "ActivityDate", "Subject", "Type",
        "DurationInMinutes", "Channel__c",
    ),
    "Channel_Cost_Rates.csv": ("Channel", "Cost_Per_Year_CHF", "Capacity_Hours", "Travel_Cost_Per_Km"),
}  # fmt: skip
"""Every file of the export and its columns, in order (the contract with the salesforce mapping)."""

HTML_NAMES: tuple[str, ...] = (
    "Bar <b>Zur Post</b> & Co",
    'Müller & Söhne "Web" <script>alert(1)</script> GmbH',
    "Café <i>Ämmitaler</i> & 'Söhne' <img src=x onerror=alert(2)>",
)
"""Account names with HTML-special characters: reports must show them escaped."""

CHANNELS = ("field", "tele", "online")
_CHANNEL_LABEL = np.array(["Field", "Tele", "Online"])

INDUSTRIES: dict[str, tuple[float, float]] = {
    # label: (share, effect on log potential)
    "Gastronomy & Hospitality": (0.16, 0.00),
    "Retail": (0.14, 0.10),
    "Trades & Crafts": (0.16, -0.10),
    "Health Practices": (0.09, 0.15),
    "Professional Services": (0.12, 0.20),
    "Real Estate": (0.05, 0.30),
    "Beauty & Wellness": (0.08, -0.20),
    "Automotive": (0.06, 0.10),
    "Construction": (0.07, 0.00),
    "Education": (0.03, -0.10),
    "Tourism": (0.04, 0.25),
}
"""Industry label -> (share of accounts, additive effect on log potential)."""

POTENTIAL: dict[str, Any] = {
    "b0": 5.5,
    "elasticity_employees": 0.6,
    "urban_effect": 0.15,
    "noise_sd": 0.25,
    "penetration_beta": (2.0, 3.0),
}

PRODUCTS: tuple[dict[str, Any], ...] = (
    # name, code, family, list price CHF/month, complexity, cost share, launch, popularity
    dict(name="Website Basic", code="WEB-BAS", family="Website", price=49, cx=1, cost=0.20, launch="2014-03-01", pop=1.0),
    dict(name="Website Pro", code="WEB-PRO", family="Website", price=149, cx=3, cost=0.25, launch="2015-06-01", pop=1.2),
    dict(name="Website Premium", code="WEB-PRE", family="Website", price=390, cx=4, cost=0.30, launch="2017-01-01", pop=0.5),
    dict(name="Webshop", code="WEB-SHOP", family="Website", price=290, cx=4, cost=0.30, launch="2018-04-01", pop=0.4),
    dict(name="SEO Local", code="SEO-LOC", family="SEO", price=190, cx=3, cost=0.30, launch="2016-02-01", pop=0.8),
    dict(name="SEO Premium", code="SEO-PRE", family="SEO", price=990, cx=5, cost=0.35, launch="2019-09-01", pop=0.25),
    dict(name="Google Ads Management", code="ADS-SEA", family="Advertising", price=490, cx=4, cost=0.45, launch="2017-05-01", pop=0.4),
    dict(name="Social Ads", code="ADS-SOC", family="Advertising", price=290, cx=3, cost=0.40, launch="2020-03-01", pop=0.35),
    dict(name="Local Listings", code="LST-LOC", family="Listings", price=29, cx=1, cost=0.15, launch="2014-01-01", pop=1.0),
    dict(name="Directory Premium", code="LST-PRE", family="Listings", price=79, cx=2, cost=0.15, launch="2016-09-01", pop=0.6),
    dict(name="Online Booking", code="BKG-ONL", family="Booking", price=59, cx=2, cost=0.20, launch="2025-03-01", pop=0.6),
    dict(name="Social Media Care", code="SOC-CARE", family="Social Media", price=190, cx=3, cost=0.35, launch="2025-10-01", pop=0.5),
)  # fmt: skip
"""The product catalogue (two products launched in the 18 months before 2026-06-30)."""

PRODUCT_COMPLEXITY_TILT: dict[str, float] = {"field": 0.4, "tele": 0.0, "online": -0.6}
"""Product choice weight = popularity * exp(tilt[channel] * (complexity - 3))."""

REGIONS: tuple[tuple[str, int, int, int], ...] = (
    # team, first and last 2-digit postal-code prefix, number of field reps
    ("Romandie", 10, 29, 6),
    ("Mittelland", 30, 39, 5),
    ("Nordwestschweiz", 40, 59, 5),
    ("Zentralschweiz & Tessin", 60, 69, 4),
    ("Zürich & Ostschweiz", 70, 99, 8),
)
"""Region teams of the status quo: postal-code prefix ranges and field-rep head count."""

REGIONS_DE: tuple[tuple[str, int, int, int], ...] = (
    # team, first and last 2-digit postal-code prefix, share of the field reps (per mille);
    # the German head count scales with the accounts (one field rep per ~715 accounts, as in
    # the Swiss demo: 28 for 20,000), split by these shares
    ("Ost", 1, 19, 190),
    ("Nord", 20, 39, 200),
    ("West", 40, 59, 230),
    ("Südwest", 60, 79, 200),
    ("Bayern", 80, 99, 180),
)
"""Region teams of the German demo client (PLZ zones 0-1, 2-3, 4-5, 6-7, 8-9)."""

ACCOUNTS_PER_FIELD_REP = 715
"""Accounts per field rep of the German demo (the Swiss demo's 20,000 / 28)."""


@dataclass(frozen=True)
class _DemoCountry:
    """What differs between the Swiss and the German demo client."""

    code: str
    client: str
    billing_country: str
    currency: str
    kam_homes: tuple[str, ...]
    rates_column: str
    population_source: str


DEMO_COUNTRIES: dict[str, _DemoCountry] = {
    "CH": _DemoCountry(
        "CH",
        "Digitalwerk Schweiz AG (demo)",
        "Switzerland",
        "CHF",
        ("8001", "3011", "1003", "4051"),  # Zürich, Bern, Lausanne, Basel
        "Cost_Per_Year_CHF",
        "population 2016 per postal code (Swiss federal statistics, shipped in "
        "salesanalytics/data/geo/ch_plz_population.json)",
    ),
    "DE": _DemoCountry(
        "DE",
        "Digitalwerk Deutschland GmbH (demo)",
        "Deutschland",
        "EUR",
        ("10117", "20095", "60311", "80331"),  # Berlin, Hamburg, Frankfurt, München
        "Cost_Per_Year_EUR",
        "estimated population per PLZ: the population of each Land (Destatis, 31 Dec 2022) "
        "shared among its PLZ in proportion to (area of the PLZ's Voronoi cell in km²) ** "
        "-0.44, the elasticity of population on cell area fitted on the Swiss postal codes "
        "(salesanalytics.reference.geography.GeoNamesPoints.postal_codes)",
    ),
}
"""The demo clients by country (``salesanalytics demo-data --country``)."""


def _border_postal_codes(columns: pd.Index) -> pd.DataFrame:
    """Liechtenstein's postal codes and the German PLZ within 30 km of Switzerland.

    With the demo's columns, estimated population and ``billing_country``.
    """
    import shapely

    from salesanalytics.reference.geography import LV95, SwissPolygons, geography, reproject

    frames = []
    for cc, name in (("LI", "Liechtenstein"), ("DE", "Deutschland")):
        g = geography(cc)
        pc = g.postal_codes().rename(columns={"region": "canton"})
        if cc == "DE":
            swiss = reproject(np.array([SwissPolygons().outline()]), LV95, g.crs)[0]
            xy = g.project(pc["latitude"], pc["longitude"])
            near = shapely.distance(shapely.points(xy), swiss) <= 30_000
            pc = pc[near]
        pc = pc[pc["population"].fillna(0) > 0].copy()
        pc["billing_country"] = name
        frames.append(pc)
    out = pd.concat(frames, ignore_index=True)
    for c in columns:
        if c not in out:
            out[c] = pd.NA
    return out.reset_index(drop=True)


def _regions_de(n_accounts: int, pcs: pd.DataFrame) -> tuple[tuple[str, int, int, int], ...]:
    """German region teams with field-rep head counts scaled to the accounts.

    At least 2 per region, at most one per 2-digit prefix present.
    """
    total = max(10, round(n_accounts / ACCOUNTS_PER_FIELD_REP))
    share = np.array([r[3] for r in REGIONS_DE], dtype=float)
    raw = total * share / share.sum()
    n = np.floor(raw).astype(int)
    n[np.argsort(-(raw - n), kind="stable")[: total - n.sum()]] += 1
    pref = pcs["postal_code"].str.slice(0, 2).astype(int)
    out = []
    for (team, lo, hi, _), k in zip(REGIONS_DE, n, strict=True):
        present = int(pref[(pref >= lo) & (pref <= hi)].nunique())
        out.append((team, lo, hi, int(min(max(k, 2), present))))
    return tuple(out)


CHURN: dict[str, Any] = {
    "shape": 0.8,
    "reference_12m_churn": 0.15,
    "month_days": 30.4375,
    "hr_term": {1: 1.8, 12: 1.0, 24: 0.75, 36: 0.6},
    "hr_auto_renewal": 0.65,
    "hr_channel": {"field": 1.0, "tele": 1.25, "online": 1.6},
    "hr_per_additional_product": 0.8,
    "term_probs": {
        "field": (0.15, 0.40, 0.25, 0.20),
        "tele": (0.30, 0.40, 0.18, 0.12),
        "online": (0.55, 0.30, 0.10, 0.05),
    },
    "auto_renewal_prob": 0.5,
    "n_products_probs": {
        "field": (0.55, 0.30, 0.15),
        "tele": (0.70, 0.25, 0.05),
        "online": (0.85, 0.13, 0.02),
    },
}
CHURN["scale_months"] = 12.0 / (-math.log(1 - CHURN["reference_12m_churn"])) ** (1 / CHURN["shape"])
_TERMS = np.array([1, 12, 24, 36])

FUNNEL: dict[str, Any] = {
    "new_business": {
        "stages": ["Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation"],
        "conversion": [0.70, 0.65, 0.60, 0.75, 0.80],
        "mean_days": [12, 15, 20, 14, 10],
    },
    "existing": {
        "stages": ["Qualification", "Proposal", "Negotiation"],
        "conversion": [0.85, 0.75, 0.80],
        "mean_days": [10, 14, 10],
    },
    "duration_distribution": "max(1, round(Gamma(shape=2, scale=mean/2))) days per stage",
    "upsell_rate_per_year": 0.35,
    "won_probability": 0.52,
    "won_window_extra_days": 120,
    "growth": 0.2,
    "renewal_lead_days": 60,
    "renewal_stage_offsets_days": [0, 20, 40],
}

CHANNEL_FAMILY_LOSS: dict[str, dict[str, float]] = {
    # product family: relative weight of a lost new-business deal per channel (field, tele, online)
    "Website": {"field": 1.0, "tele": 1.0, "online": 1.0},
    "SEO": {"field": 0.35, "tele": 2.0, "online": 3.0},
    "Advertising": {"field": 0.6, "tele": 1.2, "online": 2.0},
    "Listings": {"field": 1.0, "tele": 1.0, "online": 1.0},
    "Booking": {"field": 1.0, "tele": 1.0, "online": 0.8},
    "Social Media": {"field": 1.0, "tele": 0.8, "online": 1.2},
}
"""Planted channel x product-family effect on new-business win rates: a lost deal's product is
drawn with weight popularity x complexity tilt x this factor (so within a channel the number of lost
deals is unchanged and only their mix over families shifts). SEO wins far more often in the field,
Listings as well online as by tele (at a fraction of the cost)."""

CHANNEL_RATES: dict[str, dict[str, float]] = {
    "field": {"cost_per_year": 165_000.0, "capacity_hours": 1_320.0, "travel_cost_per_km": 0.70},
    "tele": {"cost_per_year": 95_000.0, "capacity_hours": 1_500.0, "travel_cost_per_km": 0.0},
    "online": {"cost_per_year": 80_000.0, "capacity_hours": 1_600.0, "travel_cost_per_km": 0.0},
}

ACTIVITY_TYPES = ("visit", "call", "email", "online_session")
ACTIVITY_MEAN_MINUTES = np.array([60.0, 12.0, 6.0, 30.0])
ACTIVITY_SIGMA = 0.5
ACTIVITY_RATES = np.array(
    # yearly rates at median value for a customer: visit, call, email, online_session
    [[2.0, 3.0, 4.0, 0.0], [0.0, 4.0, 4.0, 0.0], [0.0, 0.0, 4.0, 1.5]]
)
STATUS_ACTIVITY_MULT = {"customer": 1.0, "former_customer": 0.3, "prospect": 0.4}
ROAD_FACTOR = geo.ROAD_FACTOR
TRAVEL_SPEED_KMH = geo.SPEED_KMH
ACTIVITY_WINDOW_DAYS = 730
_CHUNK = 200_000  # accounts per activity chunk (fixed: results do not depend on n_accounts)

_FIRST = np.array(
    "Anna Laura Sarah Lea Julia Sandra Nicole Andrea Martina Claudia Marie Sophie Chiara Elena "
    "Nina Lara Céline Léa Manon Giulia Daniel Thomas Marco Stefan Andreas Peter Michael Lukas "
    "Simon David Reto Urs Beat Fabian Patrick Luca Nicolas Julien Mathieu Matteo Jonas Adrian".split()
)
_LAST = np.array(
    "Müller Meier Schmid Keller Weber Huber Schneider Meyer Steiner Fischer Gerber Brunner Baumann "
    "Frei Zimmermann Moser Widmer Wyss Graf Roth Suter Baumgartner Bachmann Studer Bühler Kunz "
    "Favre Rochat Bianchi Rossi Fontana Berset Morel Gasser Marti Hofer Lüthi Egli Arnold Vogel".split()
)
_STREETS = np.array(
    [
        "Bahnhofstrasse", "Hauptstrasse", "Dorfstrasse", "Poststrasse", "Kirchweg", "Seestrasse",
        "Industriestrasse", "Schulstrasse", "Gartenstrasse", "Bergstrasse", "Rue du Lac",
        "Rue de la Gare", "Via Cantonale", "Marktgasse", "Rosenweg", "Lindenstrasse", "Sonnenweg",
        "Mühlegasse", "Werkstrasse", "Ringstrasse", "Avenue de la Gare", "Via San Gottardo",
    ]
)  # fmt: skip
_NAME_TEMPLATES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "Gastronomy & Hospitality": (("Restaurant ", "S", ""), ("Café ", "P", ""), ("Gasthof ", "S", "")),
    "Retail": (("", "S", " Shop AG"), ("Boutique ", "F", ""), ("", "P", " Optik GmbH")),
    "Trades & Crafts": (("", "S", " Haustechnik GmbH"), ("Schreinerei ", "S", ""), ("Malerei ", "S", " AG")),
    "Health Practices": (("Praxis Dr. ", "S", ""), ("Physiotherapie ", "P", ""), ("Zahnarztpraxis ", "S", "")),
    "Professional Services": (("", "S", " Treuhand AG"), ("", "S", " & Partner Rechtsanwälte"), ("Architekturbüro ", "S", "")),
    "Real Estate": (("", "S", " Immobilien AG"), ("Immo ", "P", " GmbH")),
    "Beauty & Wellness": (("Coiffure ", "F", ""), ("Kosmetikstudio ", "F", ""), ("Wellness ", "P", "")),
    "Automotive": (("Garage ", "S", " AG"), ("Auto ", "P", " GmbH")),
    "Construction": (("", "S", " Bau AG"), ("", "S", " Gartenbau GmbH")),
    "Education": (("Sprachschule ", "P", ""), ("Fahrschule ", "S", "")),
    "Tourism": (("Hotel ", "S", ""), ("", "P", " Tourismus"), ("Ferienwohnungen ", "S", "")),
}  # fmt: skip

_NAT = np.iinfo(np.int64).min  # numpy's NaT as int64 day number

# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------

_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
_SUFFIX = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", np.uint8)


def salesforce_id_checksum(id15: str) -> str:
    """Return the 3-character case-safe suffix Salesforce appends to a 15-character id.

    Parameters
    ----------
    id15
        A 15-character, case-sensitive Salesforce id.
    """
    if len(id15) != 15:
        raise ValueError(f"Salesforce id must have 15 characters, got {len(id15)}: {id15!r}")
    out = ""
    for k in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[5 * k : 5 * k + 5]) if "A" <= ch <= "Z")
        out += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return out


def _sf_ids(prefix: str, n: int, start: int = 1) -> pa.Array:
    """``n`` sequential 18-character Salesforce-style ids with key prefix ``prefix``."""
    chars = np.empty((n, 18), np.uint8)
    chars[:, :3] = np.frombuffer(prefix.encode(), np.uint8)
    chars[:, 3:7] = np.frombuffer(b"5g00", np.uint8)
    num = np.arange(start, start + n, dtype=np.int64)
    for i in range(14, 6, -1):
        num, digit = np.divmod(num, 62)
        chars[:, i] = _B62[digit]
    upper = ((chars[:, :15] >= 65) & (chars[:, :15] <= 90)).astype(np.uint8)
    for k in range(3):
        bits = upper[:, 5 * k]
        for i in range(1, 5):
            bits = bits | (upper[:, 5 * k + i] << i)
        chars[:, 15 + k] = _SUFFIX[bits]
    offsets = np.arange(0, 18 * (n + 1), 18, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))


def _day(d: str | np.datetime64) -> int:
    return int(np.datetime64(d, "D").astype(np.int64))


def _dates(days: np.ndarray) -> pa.Array:
    """int64 day numbers (``_NAT`` = missing) -> pyarrow date32 (ISO in CSV)."""
    return pa.array(np.asarray(days, dtype=np.int64).astype("M8[D]"), type=pa.date32())


def _add_months(days: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Calendar month arithmetic on int64 day numbers (day clipped to the month's length)."""
    d = np.asarray(days, dtype=np.int64).astype("M8[D]")
    m = d.astype("M8[M]")
    dom = (d - m.astype("M8[D]")).astype(np.int64)
    nm = m + np.asarray(months, dtype=np.int64)
    last = ((nm + 1).astype("M8[D]") - nm.astype("M8[D]")).astype(np.int64) - 1
    return nm.astype("M8[D]").astype(np.int64) + np.minimum(dom, last)


def _term_end(start: np.ndarray, term: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """End of the contract term (start + k*term months - 1 day) that contains day ``ref``."""
    k = np.maximum(1, np.ceil((ref - start + 1) / (term * CHURN["month_days"])).astype(np.int64))
    end = _add_months(start, k * term) - 1
    k = np.where(end < ref, k + 1, k)
    end = _add_months(start, k * term) - 1
    prev = _add_months(start, (k - 1) * term) - 1
    k = np.where((k > 1) & (prev >= ref), k - 1, k)
    return _add_months(start, k * term) - 1


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of ``probs`` (rows sum to 1)."""
    c = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * c[:, -1:]
    return (u > c).sum(axis=1)


def _stage_days(rng: np.random.Generator, mean_days: list[int], size: int) -> np.ndarray:
    m = np.asarray(mean_days, dtype=float)
    return np.maximum(1, np.round(rng.gamma(2.0, m / 2.0, size=(size, len(m))))).astype(np.int64)


def _growth_dates(rng: np.random.Generator, n: int, lo: int, hi: int, g: float) -> np.ndarray:
    """Days in [lo, hi] with density proportional to 1 + g*x (x = relative position)."""
    u = rng.random(n)
    x = (-1 + np.sqrt(1 + 2 * g * u * (1 + g / 2))) / g
    return lo + np.floor(x * (hi - lo + 1)).astype(np.int64).clip(0, hi - lo)


def _join(*parts: Any) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _write_csv(path: Path, columns: dict[str, Any]) -> int:
    table = pa.table(columns)
    pacsv.write_csv(table, path)
    return table.num_rows


# --------------------------------------------------------------------------------------------
# reps
# --------------------------------------------------------------------------------------------


def _region_prefixes(
    codes: np.ndarray, regions: tuple[tuple[str, int, int, int], ...] = REGIONS
) -> tuple[np.ndarray, dict[int, int]]:
    pref = np.array([int(c[:2]) for c in codes])
    region_of = {}
    for r, (_, lo, hi, _) in enumerate(regions):
        for p in range(lo, hi + 1):
            region_of[p] = r
    return pref, region_of


def _make_reps(
    rng: np.random.Generator,
    pcs: pd.DataFrame,
    as_of: int,
    regions: tuple[tuple[str, int, int, int], ...] = REGIONS,
    kam_homes: tuple[str, ...] = DEMO_COUNTRIES["CH"].kam_homes,
) -> dict[str, Any]:
    codes = pcs["postal_code"].to_numpy(str)
    pop = pcs["population"].to_numpy(float)
    pref, region_of = _region_prefixes(codes, regions)
    present = sorted(set(pref.tolist()))
    rows: list[dict[str, Any]] = []
    prefix_owner: dict[int, int] = {}

    def home_in(mask: np.ndarray) -> int:
        idx = np.flatnonzero(mask)
        return int(idx[rng.choice(len(idx), p=pop[idx] / pop[idx].sum())])

    def add(role: str, region: int, team: str, home: int, **kw: Any) -> int:
        rows.append(dict(role=role, region=region, team=team, home=home, **kw))
        return len(rows) - 1

    leads = []
    for r, (team, lo, hi, _) in enumerate(regions):
        leads.append(add("team_lead", r, f"Team {team}", home_in((pref >= lo) & (pref <= hi))))
    field_by_region: list[list[int]] = []
    for r, (team, lo, hi, n_field) in enumerate(regions):
        prefs = [p for p in present if lo <= p <= hi]
        # historically grown: cuts near equal population shares, displaced by up to +-40% of a
        # share, so potential and workload end up unbalanced
        w = np.array([pop[pref == p].sum() for p in prefs])
        cum = np.cumsum(w) / w.sum()
        target = (np.arange(1, n_field) + rng.uniform(-0.4, 0.4, n_field - 1)) / n_field
        cuts = np.searchsorted(cum, np.sort(target)) + 1
        cuts = np.clip(cuts, np.arange(1, n_field), len(prefs) - n_field + np.arange(1, n_field))
        cuts = np.maximum.accumulate(np.maximum(cuts, np.arange(1, n_field)))
        for i in range(1, len(cuts)):
            cuts[i] = max(cuts[i], cuts[i - 1] + 1)
        groups = np.split(np.array(prefs), cuts)
        ids = []
        for g in groups:
            i = add("field", r, f"Team {team}", home_in(np.isin(pref, g)), prefixes=g.tolist())
            for p in g:
                prefix_owner[int(p)] = i
            ids.append(i)
        field_by_region.append(ids)
    tele_by_region, online_by_region = [], []
    for r, (team, lo, hi, _) in enumerate(regions):
        m = (pref >= lo) & (pref <= hi)
        tele_by_region.append([add("tele", r, f"Team {team}", home_in(m)) for _ in range(2)])
        online_by_region.append([add("online", r, f"Team {team}", home_in(m))])
    kams = []
    for h in kam_homes:
        home = int(np.flatnonzero(codes == h)[0])
        kams.append(add("key_account", region_of[int(h[:2])], "Key Accounts", home))
    n_active = len(rows)
    # hire dates: established staff before the history window; 4 field reps hired recently
    all_field = [i for ids in field_by_region for i in ids]
    new_hires = sorted(rng.choice(all_field, size=4, replace=False).tolist())
    for row in rows:
        # established staff joined before the contract history starts (as_of - 60 months)
        row["hire"] = int(as_of - rng.integers(5 * 365 + 200, 18 * 365))
        row["active"] = True
        row["predecessor"] = -1
        row["manager"] = leads[row["region"]] if row["role"] != "team_lead" else -1
    for i in new_hires:
        rows[i]["hire"] = int(as_of - rng.integers(20, 180))
        p = add("field", rows[i]["region"], rows[i]["team"], rows[i]["home"])
        rows[p].update(
            hire=int(as_of - rng.integers(8 * 365, 16 * 365)),
            active=False,
            predecessor=-1,
            manager=rows[i]["manager"],
        )
        rows[i]["predecessor"] = p
    fte = np.where(rng.random(len(rows)) < 0.15, 0.8, 1.0)
    fte[rng.random(len(rows)) < 0.06] = 0.6
    for i, row in enumerate(rows):
        row["fte"] = float(fte[i]) if row["role"] != "team_lead" else 1.0
        row["capacity"] = float(np.round(rng.uniform(1200, 1400) * row["fte"] / 10) * 10)
        row["first"] = str(_FIRST[rng.integers(len(_FIRST))])
        row["last"] = str(_LAST[rng.integers(len(_LAST))])
    return dict(
        rows=rows,
        n_active=n_active,
        prefix_owner=prefix_owner,
        leads=leads,
        field_by_region=field_by_region,
        tele_by_region=np.array(tele_by_region),
        online_by_region=np.array([o[0] for o in online_by_region]),
        kams=np.array(kams),
        new_hires=new_hires,
    )


# --------------------------------------------------------------------------------------------
# the generator
# --------------------------------------------------------------------------------------------


def _check_args(n_accounts: int, seed: int, as_of: str) -> int:
    problems = []
    if not isinstance(n_accounts, int | np.integer) or n_accounts < 100:
        problems.append(f"n_accounts must be an integer of at least 100, got {n_accounts!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        problems.append(f"seed must be a non-negative integer, got {seed!r}")
    try:
        day = _day(str(as_of))
        if not _day("2015-01-01") <= day <= _day("2100-12-31"):
            problems.append(f"as_of must lie between 2015 and 2100, got {as_of!r}")
    except ValueError:
        problems.append(f"as_of must be an ISO date YYYY-MM-DD, got {as_of!r}")
        day = 0
    if problems:
        raise ParameterError("; ".join(problems))
    return day


@dataclass
class _Geography:
    """Inhabited postal codes (place names without a number) and which of them are urban."""

    pcs: pd.DataFrame
    codes: np.ndarray
    urban_threshold: float
    urban_code: np.ndarray
    regions: tuple[tuple[str, int, int, int], ...] = REGIONS
    country: _DemoCountry = DEMO_COUNTRIES["CH"]
    abroad_share: float = 0.0

    def add_border_codes(self, fpcs: pd.DataFrame) -> None:
        """Append postal codes abroad (after the Swiss ones, so Swiss indices stay valid)."""
        f_urban = np.nan_to_num(fpcs["density"].to_numpy(float), nan=0.0) >= self.urban_threshold
        self.urban_code = np.concatenate([self.urban_code, f_urban])
        self.pcs = pd.concat([self.pcs, fpcs[self.pcs.columns]], ignore_index=True)
        self.codes = self.pcs["postal_code"].to_numpy(str)


def _geography(country: str = "CH", n_accounts: int = 20_000) -> _Geography:
    """The postal codes the demo client's accounts and reps sit in, and its region teams."""
    if country == "CH":
        pcs = geo.postal_codes()
    else:
        from salesanalytics.reference.geography import geography

        pcs = geography(country).postal_codes().rename(columns={"region": "canton"})
    pcs = pcs[pcs["population"].fillna(0) > 0].reset_index(drop=True)
    regions = REGIONS if country == "CH" else _regions_de(n_accounts, pcs)
    pcs["place"] = pcs["place"].str.replace(r"\s+\d+$", "", regex=True)  # "Aarau 1" -> "Aarau"
    dens = pcs["density"].to_numpy(float)
    urban_threshold = float(np.nanquantile(dens, 2 / 3))
    urban_code = np.nan_to_num(dens, nan=0.0) >= urban_threshold
    return _Geography(
        pcs,
        pcs["postal_code"].to_numpy(str),
        urban_threshold,
        urban_code,
        regions,
        DEMO_COUNTRIES[country],
    )


@dataclass
class _RepBook:
    """The sales team (:func:`_make_reps`) with ids, home coordinates and succession."""

    reps: dict[str, Any]
    ids: pa.Array
    home: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    hire: np.ndarray
    pred: np.ndarray

    def at_date(self, rep: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The rep in charge on ``day``: the predecessor before a new rep's hire date."""
        pred = self.pred[rep]
        return np.where((pred >= 0) & (day < self.hire[rep]), pred, rep)


def _rep_book(rng: np.random.Generator, g: _Geography, today: int) -> _RepBook:
    """Draw the sales team."""
    reps = _make_reps(rng, g.pcs, today, g.regions, g.country.kam_homes)
    rows = reps["rows"]
    home = np.array([r["home"] for r in rows])
    return _RepBook(
        reps=reps,
        ids=_sf_ids("005", len(rows)),
        home=home,
        lat=g.pcs["latitude"].to_numpy(float)[home],
        lon=g.pcs["longitude"].to_numpy(float)[home],
        hire=np.array([r["hire"] for r in rows], dtype=np.int64),
        pred=np.array([r["predecessor"] for r in rows], dtype=np.int64),
    )


@dataclass
class _AccountPlan:
    """Every account's place, firmographics, planted potential, territory and channel."""

    n: int
    code_idx: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    urban: np.ndarray
    ind_names: np.ndarray
    ind_eff: np.ndarray
    industry: np.ndarray
    emp: np.ndarray
    heads: np.ndarray
    children: np.ndarray
    child_head: np.ndarray
    parent: np.ndarray
    noise: np.ndarray
    log_pot: np.ndarray
    pot: np.ndarray
    pen: np.ndarray
    region: np.ndarray
    owner: np.ndarray
    key: np.ndarray
    channel: np.ndarray
    tele_rep: np.ndarray
    online_rep: np.ndarray
    billing_country: np.ndarray

    def channel_rep(self, book: _RepBook, acc: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The rep of the account's serving channel on ``day``."""
        ch = self.channel[acc]
        r = np.where(
            ch == 0, self.owner[acc], np.where(ch == 1, self.tele_rep[acc], self.online_rep[acc])
        )
        return book.at_date(r, day)


def _place_abroad(
    g: _Geography, code_idx: np.ndarray, abroad: tuple[float, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Move ``abroad[0]`` of the accounts to Liechtenstein and German border postal codes.

    Own random stream from seed ``abroad[1]``: the Swiss accounts keep the draws of ``abroad=0``;
    appends those codes to ``g`` and changes ``code_idx`` in place. Returns which accounts moved and
    every account's billing country.
    """
    n = len(code_idx)
    foreign = np.zeros(n, dtype=bool)
    billing_country = np.full(n, g.country.billing_country, dtype=object)
    if abroad[0] <= 0:
        return foreign, billing_country
    frng = np.random.default_rng([abroad[1], 20])
    fpcs = _border_postal_codes(g.pcs.columns)
    foreign = frng.random(n) < abroad[0]
    fidx = frng.choice(
        len(fpcs), size=int(foreign.sum()), p=fpcs["population"] / fpcs["population"].sum()
    )
    code_idx[foreign] = len(g.pcs) + fidx
    billing_country[foreign] = fpcs["billing_country"].to_numpy(object)[fidx]
    g.add_border_codes(fpcs)
    g.abroad_share = abroad[0]
    return foreign, billing_country


def _plan_accounts(
    arng: np.random.Generator,
    n: int,
    g: _Geography,
    book: _RepBook,
    abroad: tuple[float, int] = (0.0, 0),
) -> _AccountPlan:
    """Draw the accounts: place, industry, size, groups, potential, territory and channel.

    Potential follows the planted log-linear model; territory is the field rep by 2-digit prefix
    (top 1% potential -> nearest key account manager); channel is the serving channel. ``abroad`` =
    (share, seed): that share of the Swiss client's accounts is placed in Liechtenstein and German
    border postal codes (own random stream), which are appended to ``g``.
    """
    pop = g.pcs["population"].to_numpy(float)
    code_idx = arng.choice(len(g.codes), size=n, p=pop / pop.sum())
    foreign, billing_country = _place_abroad(g, code_idx, abroad)
    pcs, codes = g.pcs, g.codes
    r_km = 0.8 * np.sqrt(arng.random(n))
    ang = arng.uniform(0, 2 * np.pi, n)
    lat0 = pcs["latitude"].to_numpy(float)[code_idx]
    lat = lat0 + r_km * np.cos(ang) / 111.195
    lon = pcs["longitude"].to_numpy(float)[code_idx] + r_km * np.sin(ang) / (
        111.195 * np.cos(np.radians(lat0))
    )
    urban = g.urban_code[code_idx].astype(np.int64)
    ind_names = np.array(list(INDUSTRIES))
    ind_share = np.array([v[0] for v in INDUSTRIES.values()])
    ind_eff = np.array([v[1] for v in INDUSTRIES.values()])
    industry = arng.choice(len(ind_names), size=n, p=ind_share / ind_share.sum())
    large = arng.random(n) < 0.03
    emp = np.ceil(np.exp(np.where(large, np.log(50), np.log(6)) + 0.8 * arng.standard_normal(n)))
    emp = np.minimum(emp, 5000).astype(np.int64)
    # groups: heads and their locations (same industry)
    n_groups = max(1, round(0.0035 * n))
    perm = arng.permutation(n)
    heads = perm[:n_groups]
    n_children = arng.integers(1, 5, size=n_groups)
    children = perm[n_groups : n_groups + n_children.sum()]
    child_head = np.repeat(heads, n_children)
    industry[children] = industry[child_head]
    parent = np.full(n, -1, dtype=np.int64)
    parent[children] = child_head
    noise = POTENTIAL["noise_sd"] * arng.standard_normal(n)
    log_pot = (
        POTENTIAL["b0"]
        + POTENTIAL["elasticity_employees"] * np.log(emp)
        + ind_eff[industry]
        + POTENTIAL["urban_effect"] * urban
        + noise
    )
    pot = np.exp(log_pot)
    pen = arng.beta(*POTENTIAL["penetration_beta"], size=n)
    # territories: field rep by 2-digit prefix; top 1% potential -> nearest key account manager
    reps = book.reps
    pref, region_of = _region_prefixes(codes, g.regions)
    acc_pref = pref[code_idx]
    region_lut = np.full(100, -1, dtype=np.int64)
    owner_lut = np.full(100, -1, dtype=np.int64)
    for p, r in region_of.items():
        region_lut[p] = r
    for p, i in reps["prefix_owner"].items():
        owner_lut[p] = i
    region = region_lut[acc_pref]
    owner = owner_lut[acc_pref]
    if foreign.any():  # accounts abroad belong to the nearest field rep today
        rows = reps["rows"]
        fa = np.array([i for i, r in enumerate(rows) if r["role"] == "field" and r["active"]])
        d = geo.haversine_km(lat[foreign, None], lon[foreign, None], book.lat[fa], book.lon[fa])
        owner[foreign] = fa[np.argmin(d, axis=1)]
        region[foreign] = np.array([rows[i]["region"] for i in owner[foreign]])
    n_key = max(1, round(0.01 * n))
    key = np.zeros(n, dtype=bool)
    key[np.argsort(-pot, kind="stable")[:n_key]] = True
    kams = reps["kams"]
    kidx = np.flatnonzero(key)
    dk = geo.haversine_km(lat[kidx, None], lon[kidx, None], book.lat[kams], book.lon[kams])
    owner[kidx] = kams[np.argmin(dk, axis=1)]
    # serving channel
    z = (log_pot - log_pot.mean()) / log_pot.std()
    w = np.array([0.45, 0.35, 0.20]) * np.exp(np.outer(z, [0.8, 0.0, -0.8]))
    channel = _choice_rows(arng, w / w.sum(axis=1, keepdims=True))
    channel[key] = 0
    tele_rep = reps["tele_by_region"][region, arng.integers(0, 2, size=n)]
    online_rep = reps["online_by_region"][region]
    return _AccountPlan(
        n=n,
        code_idx=code_idx,
        lat=lat,
        lon=lon,
        urban=urban,
        ind_names=ind_names,
        ind_eff=ind_eff,
        industry=industry,
        emp=emp,
        heads=heads,
        children=children,
        child_head=child_head,
        parent=parent,
        noise=noise,
        log_pot=log_pot,
        pot=pot,
        pen=pen,
        region=region,
        owner=owner,
        key=key,
        channel=channel,
        tele_rep=tele_rep,
        online_rep=online_rep,
        billing_country=billing_country,
    )


@dataclass
class _CustomerPlan:
    """Who became a customer when, on which first terms, and when they churn (planted model).

    Arrays ending in ``_e`` and ``first_term``, ``auto``, ``n0``, ``xb``, ``t_months`` are per
    ever-customer (``eidx``); the others per account.
    """

    won: np.ndarray
    cs: np.ndarray
    eidx: np.ndarray
    ch_e: np.ndarray
    first_term: np.ndarray
    auto: np.ndarray
    n0: np.ndarray
    xb: np.ndarray
    t_months: np.ndarray
    churn_day_e: np.ndarray
    churned_e: np.ndarray
    churn_day: np.ndarray
    status: np.ndarray
    end_e: np.ndarray


def _plan_customers(
    crng: np.random.Generator, acc: _AccountPlan, history_start: int, today: int
) -> _CustomerPlan:
    """Draw the customers' start dates, first terms and churn times (proportional hazards)."""
    n, channel = acc.n, acc.channel
    won = crng.random(n) < FUNNEL["won_probability"]
    cs = np.full(n, _NAT, dtype=np.int64)
    widx = np.flatnonzero(won)
    cs[widx] = _growth_dates(
        crng, len(widx), history_start, today + FUNNEL["won_window_extra_days"], FUNNEL["growth"]
    )
    ever = won & (cs <= today)
    eidx = np.flatnonzero(ever)
    ne = len(eidx)
    ch_e = channel[eidx]
    term_p = np.array([CHURN["term_probs"][c] for c in CHANNELS])[ch_e]
    first_term = _TERMS[_choice_rows(crng, term_p)]
    auto = crng.random(ne) < CHURN["auto_renewal_prob"]
    n0 = 1 + _choice_rows(crng, np.array([CHURN["n_products_probs"][c] for c in CHANNELS])[ch_e])
    hr_term = np.array([CHURN["hr_term"][int(t)] for t in _TERMS])
    xb = (
        np.log(hr_term[np.searchsorted(_TERMS, first_term)])
        + np.log(CHURN["hr_auto_renewal"]) * auto
        + np.log(np.array([CHURN["hr_channel"][c] for c in CHANNELS]))[ch_e]
        + np.log(CHURN["hr_per_additional_product"]) * (n0 - 1)
    )
    t_months = CHURN["scale_months"] * (crng.exponential(1.0, ne) * np.exp(-xb)) ** (
        1 / CHURN["shape"]
    )
    churn_day_e = cs[eidx] + np.maximum(1, np.round(t_months * CHURN["month_days"])).astype(
        np.int64
    )
    churned_e = churn_day_e <= today
    churn_day = np.full(n, _NAT, dtype=np.int64)
    churn_day[eidx[churned_e]] = churn_day_e[churned_e]
    status = np.full(n, 1, dtype=np.int64)  # 0 customer, 1 prospect, 2 former customer
    status[eidx] = np.where(churned_e, 2, 0)
    end_e = np.where(churned_e, churn_day_e, today)  # last day the account is a customer
    return _CustomerPlan(
        won=won,
        cs=cs,
        eidx=eidx,
        ch_e=ch_e,
        first_term=first_term,
        auto=auto,
        n0=n0,
        xb=xb,
        t_months=t_months,
        churn_day_e=churn_day_e,
        churned_e=churned_e,
        churn_day=churn_day,
        status=status,
        end_e=end_e,
    )


@dataclass
class _Catalogue:
    """The product catalogue with ids, launch dates, prices and channel preferences."""

    prod: pd.DataFrame
    ids: pa.Array
    launch: np.ndarray
    price: np.ndarray
    logw: np.ndarray
    log_loss: np.ndarray

    @property
    def n(self) -> int:
        return len(self.prod)


def _catalogue() -> _Catalogue:
    """The products (:data:`PRODUCTS`) and each channel's taste for them."""
    prod = pd.DataFrame(PRODUCTS)
    logw = np.log(prod["pop"].to_numpy(float))[None, :] + np.outer(
        [PRODUCT_COMPLEXITY_TILT[c] for c in CHANNELS], prod["cx"].to_numpy(float) - 3
    )
    log_loss = np.log(
        np.array([[CHANNEL_FAMILY_LOSS[f][c] for f in prod["family"]] for c in CHANNELS])
    )
    return _Catalogue(
        prod=prod,
        ids=_sf_ids("01t", len(prod)),
        launch=np.array([_day(d) for d in prod["launch"]], dtype=np.int64),
        price=prod["price"].to_numpy(float),
        logw=logw,
        log_loss=log_loss,
    )


def _write_products(out: Path, cat: _Catalogue) -> int:
    """``Product2.csv``; its data rows."""
    prod = cat.prod
    return _write_csv(
        out / "Product2.csv",
        {
            "Id": cat.ids,
            "Name": prod["name"].tolist(),
            "ProductCode": prod["code"].tolist(),
            "Family": prod["family"].tolist(),
            "IsActive": [True] * cat.n,
            "List_Price__c": cat.price,
            "Complexity__c": prod["cx"].to_numpy(np.int64),
            "Cost_Share__c": prod["cost"].to_numpy(float),
            "Launch_Date__c": _dates(cat.launch),
        },
    )


@dataclass
class _ContractPlan:
    """Contracts sorted by account and start, the upsell deals and product preference orders.

    Contracts are the initial ones and won upsells; each ever-customer's product preference order is
    for the new-business line items.
    """

    acc: np.ndarray
    start: np.ndarray
    prod: np.ndarray
    term: np.ndarray
    auto: np.ndarray
    kind: np.ndarray
    mrr: np.ndarray
    churned: np.ndarray
    cancel: np.ndarray
    end: np.ndarray
    order_init: np.ndarray
    upsell: dict[str, np.ndarray]


def _plan_contracts(
    krng: np.random.Generator,
    orng: np.random.Generator,
    acc: _AccountPlan,
    cust: _CustomerPlan,
    cat: _Catalogue,
    today: int,
) -> _ContractPlan:
    """Draw each customer's initial products, upsell funnel and contracts; scale MRR to potential.

    The upsell funnel is that of existing customers with the contracts it wins; each customer's MRR
    is scaled to potential x penetration.
    """
    eidx, ne, n0, n_prod = cust.eidx, len(cust.eidx), cust.n0, cat.n
    cs, churned_e, end_e, churn_day_e = cust.cs, cust.churned_e, cust.end_e, cust.churn_day_e
    launch = cat.launch
    keys = cat.logw[cust.ch_e] + krng.gumbel(size=(ne, n_prod))
    keys_init = np.where(launch[None, :] <= cs[eidx, None], keys, -np.inf)
    order_init = np.argsort(-keys_init, axis=1, kind="stable")
    is_init = np.zeros((ne, n_prod), dtype=bool)
    for j in range(3):
        sel = n0 > j
        is_init[np.flatnonzero(sel), order_init[sel, j]] = True
    order_rest = np.argsort(-np.where(is_init, -np.inf, keys), axis=1, kind="stable")
    # initial contracts
    rep_n0 = np.repeat(np.arange(ne), n0)
    j_in = np.arange(len(rep_n0)) - np.repeat(np.cumsum(n0) - n0, n0)
    offs = np.where(j_in == 0, 0, krng.integers(1, 29, size=len(rep_n0)))
    # later initial contracts start 1-28 days after the first, but not after churn / as_of
    limit = np.where(churned_e, end_e - 1, today)[rep_n0]
    c_start = np.minimum(cs[eidx][rep_n0] + offs, np.maximum(cs[eidx][rep_n0], limit))
    c_acc_e = rep_n0
    c_prod = order_init[rep_n0, j_in]
    c_term = cust.first_term[rep_n0]
    c_auto = cust.auto[rep_n0]
    c_kind = np.zeros(len(rep_n0), dtype=np.int64)  # 0 initial, 1 upsell

    # upsell opportunities (existing funnel)
    up_lo = cs[eidx] + 60
    up_span = np.maximum(0, end_e - up_lo)
    n_up = np.minimum(orng.poisson(FUNNEL["upsell_rate_per_year"] * up_span / 365.25), n_prod - n0)
    u_acc_e = np.repeat(np.arange(ne), n_up)
    u_created = (
        np.sort(
            (up_lo[u_acc_e] + orng.random(len(u_acc_e)) * up_span[u_acc_e]).astype(np.int64)
            + u_acc_e.astype(np.int64) * 10**7
        )
        - u_acc_e.astype(np.int64) * 10**7
    )  # sorted within account
    u_j = np.arange(len(u_acc_e)) - np.repeat(np.cumsum(n_up) - n_up, n_up)
    u_prod = order_rest[u_acc_e, u_j]
    ok = launch[u_prod] <= u_created
    u_acc_e, u_created, u_prod = u_acc_e[ok], u_created[ok], u_prod[ok]
    ex = FUNNEL["existing"]
    u_reach, u_won = _simulate_funnel(orng, ex["conversion"], len(u_acc_e))
    u_dur = _stage_days(orng, ex["mean_days"], len(u_acc_e))
    u_entered = u_created[:, None] + np.concatenate(
        [np.zeros((len(u_acc_e), 1), np.int64), np.cumsum(u_dur, axis=1)[:, :-1]], axis=1
    )
    u_close = (
        u_entered[np.arange(len(u_acc_e)), u_reach - 1]
        + u_dur[np.arange(len(u_acc_e)), u_reach - 1]
    )
    keep = ~(churned_e[u_acc_e] & (u_close > churn_day_e[u_acc_e]))
    u_acc_e, u_created, u_prod, u_reach, u_won, u_entered, u_close = (
        a[keep] for a in (u_acc_e, u_created, u_prod, u_reach, u_won, u_entered, u_close)
    )
    u_open = u_close > today
    u_cwon = u_won & ~u_open
    nu = int(u_cwon.sum())
    term_p_u = np.array([CHURN["term_probs"][c] for c in CHANNELS])[cust.ch_e[u_acc_e[u_cwon]]]
    c_start = np.concatenate([c_start, u_close[u_cwon]])
    c_acc_e = np.concatenate([c_acc_e, u_acc_e[u_cwon]])
    c_prod = np.concatenate([c_prod, u_prod[u_cwon]])
    c_term = np.concatenate([c_term, _TERMS[_choice_rows(krng, term_p_u)]])
    c_auto = np.concatenate([c_auto, krng.random(nu) < CHURN["auto_renewal_prob"]])
    c_kind = np.concatenate([c_kind, np.ones(nu, dtype=np.int64)])
    # MRR: list price x U(0.85, 1), rescaled per account to pot * penetration
    list_mrr = cat.price[c_prod] * krng.uniform(0.85, 1.0, size=len(c_prod))
    sum_list = np.bincount(c_acc_e, weights=list_mrr, minlength=ne)
    target = (acc.pot * acc.pen)[eidx]
    c_mrr = np.maximum(0.05, np.round(list_mrr * (target / sum_list)[c_acc_e] / 0.05) * 0.05)
    c_mrr = np.round(c_mrr, 2)
    # contract order: by account, then start
    o = np.lexsort((c_start, c_acc_e))
    c_start, c_acc_e, c_prod, c_term, c_auto, c_kind, c_mrr = (
        a[o] for a in (c_start, c_acc_e, c_prod, c_term, c_auto, c_kind, c_mrr)
    )
    c_churned = churned_e[c_acc_e]
    c_ref = np.where(c_churned, churn_day_e[c_acc_e], today)
    return _ContractPlan(
        acc=eidx[c_acc_e],
        start=c_start,
        prod=c_prod,
        term=c_term,
        auto=c_auto,
        kind=c_kind,
        mrr=c_mrr,
        churned=c_churned,
        cancel=np.where(c_churned, churn_day_e[c_acc_e], _NAT),
        end=_term_end(c_start, c_term, c_ref),
        order_init=order_init,
        upsell=dict(acc=eidx[u_acc_e], created=u_created, prod=u_prod, reach=u_reach,
                    won=u_won, entered=u_entered, close=u_close),
    )  # fmt: skip


def _write_contracts(
    out: Path,
    con: _ContractPlan,
    acc: _AccountPlan,
    book: _RepBook,
    cat: _Catalogue,
    acc_ids: pa.Array,
) -> int:
    """``Contract.csv``; its data rows."""
    nc = len(con.start)
    c_rep = acc.channel_rep(book, con.acc, con.start)
    return _write_csv(
        out / "Contract.csv",
        {
            "Id": _sf_ids("800", nc),
            "ContractNumber": pa.array(np.char.zfill(np.arange(1, nc + 1).astype(str), 8)),
            "AccountId": acc_ids.take(pa.array(con.acc)),
            "OwnerId": book.ids.take(pa.array(c_rep)),
            "Status": pa.array(np.where(con.churned, "Terminated", "Activated")),
            "StartDate": _dates(con.start),
            "EndDate": _dates(con.end),
            "ContractTerm": con.term.astype(np.int64),
            "Product__c": cat.ids.take(pa.array(con.prod)),
            "MRR__c": con.mrr,
            "Auto_Renewal__c": con.auto,
            "Sales_Channel__c": pa.array(_CHANNEL_LABEL[acc.channel[con.acc]]),
            "Cancellation_Date__c": _dates(con.cancel),
        },
    )


def _names(nrng: np.random.Generator, acc: _AccountPlan, g: _Geography) -> pa.Array:
    """Account names: a group's locations are "<head> – Filiale <place>".

    Three accounts carry HTML in their name (the reports must escape it).
    """
    n, children = acc.n, acc.children
    names = _account_names(
        nrng, acc.industry, acc.ind_names, g.pcs["place"].to_numpy(str)[acc.code_idx]
    )
    if len(children):
        head_names = names.take(pa.array(acc.child_head))
        child_place = pa.array(g.pcs["place"].to_numpy(str)[acc.code_idx[children]])
        names_np = np.array(names.to_pylist(), dtype=object)
        names_np[children] = np.array(
            _join(head_names, " – Filiale ", child_place).to_pylist(), dtype=object
        )
        names = pa.array(names_np, type=pa.string())
    html_idx = nrng.choice(
        np.setdiff1d(np.arange(n), np.concatenate([acc.heads, children])), 3, replace=False
    )
    names_np = np.array(names.to_pylist(), dtype=object)
    names_np[html_idx] = list(HTML_NAMES)
    return pa.array(names_np, type=pa.string())


def _activity_rates(acc: _AccountPlan, cust: _CustomerPlan) -> np.ndarray:
    """Expected activities per account and year, per activity type (account x 4)."""
    value_mult = np.clip((acc.pot / np.median(acc.pot)) ** 0.3, 0.5, 3.0)
    status_mult = np.array(
        [STATUS_ACTIVITY_MULT[k] for k in ("customer", "prospect", "former_customer")]
    )[cust.status]
    return ACTIVITY_RATES[acc.channel] * (value_mult * status_mult)[:, None]


def _write_accounts(
    out: Path,
    arng: np.random.Generator,
    acc: _AccountPlan,
    cust: _CustomerPlan,
    g: _Geography,
    book: _RepBook,
    ids: tuple[pa.Array, pa.Array],
    acct_first: np.ndarray,
    today: int,
) -> tuple[int, np.ndarray]:
    """``Account.csv`` (created before the account's first deal, activity or contract).

    Its data rows and whether each account has a customer-since date.
    """
    n, status, cs = acc.n, cust.status, cust.cs
    acc_ids, names = ids
    pcs, codes, code_idx = g.pcs, g.codes, acc.code_idx
    has_cs = (cs != _NAT) & (cs <= today)
    acct_first = np.where(has_cs, np.minimum(acct_first, cs), acct_first)
    none = acct_first == np.iinfo(np.int64).max
    created = acct_first - arng.integers(0, 181, size=n)
    created[none] = today - arng.integers(30, 8 * 365, size=int(none.sum()))
    pref_p = np.array([0.7, 0.2, 0.5])[status]  # customer, prospect, former
    has_pref = arng.random(n) < pref_p
    pref_ch = np.where(status == 1, arng.integers(0, 3, size=n), acc.channel)
    revenue = np.round(acc.emp * 140_000 * np.exp(0.4 * arng.standard_normal(n)) / 1000) * 1000
    revenue_missing = arng.random(n) < 0.35
    street = _join(
        pa.array(_STREETS[arng.integers(0, len(_STREETS), size=n)]),
        " ",
        pa.array(arng.integers(1, 120, size=n).astype(str)),
    )
    type_label = np.array(["Customer", "Prospect", "Former Customer"])[status]
    parent = acc.parent
    rows = _write_csv(
        out / "Account.csv",
        {
            "Id": acc_ids,
            "Name": names,
            "BillingStreet": street,
            "BillingPostalCode": pa.array(codes[code_idx]),
            "BillingCity": pa.array(pcs["place"].to_numpy(str)[code_idx]),
            "BillingState": pa.array(pcs["canton"].to_numpy(str)[code_idx]),
            "BillingCountry": pa.array(acc.billing_country.astype(str)),
            "BillingLatitude": np.round(acc.lat, 5),
            "BillingLongitude": np.round(acc.lon, 5),
            "Industry": pa.array(acc.ind_names[acc.industry]),
            "NumberOfEmployees": acc.emp,
            "AnnualRevenue": pa.array(np.where(revenue_missing, np.nan, revenue), from_pandas=True),
            "Type": pa.array(type_label),
            "OwnerId": book.ids.take(pa.array(acc.owner)),
            "ParentId": acc_ids.take(pa.array(np.where(parent >= 0, parent, 0), mask=parent < 0)),
            "CreatedDate": _dates(created),
            "Customer_Since__c": _dates(np.where(has_cs, cs, _NAT)),
            "Channel_Preference__c": pa.array(_CHANNEL_LABEL[pref_ch], mask=~has_pref),
        },
    )
    return rows, has_cs


def _write_channel_rates(out: Path, rates_column: str = "Cost_Per_Year_CHF") -> int:
    """``Channel_Cost_Rates.csv`` (cost column in the client's currency); its data rows."""
    return _write_csv(
        out / "Channel_Cost_Rates.csv",
        {
            "Channel": list(_CHANNEL_LABEL),
            rates_column: [CHANNEL_RATES[c]["cost_per_year"] for c in CHANNELS],
            "Capacity_Hours": [CHANNEL_RATES[c]["capacity_hours"] for c in CHANNELS],
            "Travel_Cost_Per_Km": [CHANNEL_RATES[c]["travel_cost_per_km"] for c in CHANNELS],
        },
    )


def _cost_per_minute() -> np.ndarray:
    """Cost of a minute of each channel's time (CHF)."""
    return np.array(
        [
            CHANNEL_RATES[c]["cost_per_year"] / (CHANNEL_RATES[c]["capacity_hours"] * 60)
            for c in CHANNELS
        ]
    )


def _truth_accounts(
    acc: _AccountPlan,
    cust: _CustomerPlan,
    book: _RepBook,
    acc_ids: pa.Array,
    lam: np.ndarray,
    has_cs: np.ndarray,
    regions: tuple[tuple[str, int, int, int], ...] = REGIONS,
) -> pd.DataFrame:
    """The planted truth per account (``truth_accounts.parquet``)."""
    n, eidx, channel, owner = acc.n, cust.eidx, acc.channel, acc.owner
    cpm = _cost_per_minute()
    dist_owner = geo.haversine_km(acc.lat, acc.lon, book.lat[owner], book.lon[owner])
    travel_km = 2 * ROAD_FACTOR * dist_owner
    travel_min = travel_km / TRAVEL_SPEED_KMH * 60
    exp_minutes = lam @ ACTIVITY_MEAN_MINUTES
    exp_cost = exp_minutes * cpm[channel] + lam[:, 0] * (
        travel_min * cpm[0] + travel_km * CHANNEL_RATES["field"]["travel_cost_per_km"]
    )
    status_tok = np.array(["customer", "prospect", "former_customer"])[cust.status]
    truth_acc = pd.DataFrame(
        {
            "account_id": acc_ids.to_numpy(zero_copy_only=False),
            "potential_mrr": acc.pot,
            "log_potential": acc.log_pot,
            "potential_noise": acc.noise,
            "industry_effect": acc.ind_eff[acc.industry],
            "urban": acc.urban,
            "penetration": acc.pen,
            "status": status_tok,
            "serving_channel": np.array(CHANNELS)[channel],
            "key_account": acc.key,
            "region": np.array([r[0] for r in regions])[acc.region],
            "won_flag": cust.won,
            "first_term_months": _scatter(n, eidx, cust.first_term, -1),
            "auto_renewal_first": _scatter(n, eidx, cust.auto.astype(np.int64), -1),
            "n_products_start": _scatter(n, eidx, cust.n0, 0),
            "churn_linear_predictor": _scatter(n, eidx, cust.xb, np.nan),
            "latent_churn_months": _scatter(n, eidx, cust.t_months, np.nan),
            "churned": _scatter(n, eidx, cust.churned_e.astype(np.int64), 0).astype(bool),
            "expected_activities_per_year": lam.sum(axis=1),
            "expected_minutes_per_year": exp_minutes,
            "travel_km_per_visit": travel_km,
            "expected_cost_to_serve": exp_cost,
        }
    )
    truth_acc["customer_since"] = pd.to_datetime(np.where(has_cs, cust.cs, _NAT).astype("M8[D]"))
    truth_acc["churn_date"] = pd.to_datetime(cust.churn_day.astype("M8[D]"))
    return truth_acc


def _deals(
    orng: np.random.Generator,
    acc: _AccountPlan,
    cust: _CustomerPlan,
    con: _ContractPlan,
    cat: _Catalogue,
    dates: tuple[int, int, int],
    win_cells: dict[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """Every deal (:func:`_opportunities`) of the planned customers and contracts.

    ``dates`` are today, the start of the history and of the activity window (days).
    """
    today, history_start, act_start = dates
    return _opportunities(
        orng,
        today=today,
        history_start=history_start,
        act_start=act_start,
        won=cust.won,
        cs=cust.cs,
        eidx=cust.eidx,
        n0=cust.n0,
        order_init=con.order_init,
        c=dict(acc=con.acc, start=con.start, term=con.term, auto=con.auto, mrr=con.mrr,
               prod=con.prod, kind=con.kind, churned=con.churned),
        churn_day=cust.churn_day,
        channel=acc.channel,
        launch=cat.launch,
        price=cat.price,
        logw=cat.logw,
        log_loss=cat.log_loss,
        expected_lost_out=win_cells,
        upsell=con.upsell,
    )  # fmt: skip


@dataclass
class _DemoPlan:
    """Everything planned before the files are written (for ``truth.json``)."""

    g: _Geography
    book: _RepBook
    acc: _AccountPlan
    cust: _CustomerPlan
    cat: _Catalogue
    con: _ContractPlan


def _truth_geography(g: _Geography, acc: _AccountPlan) -> dict[str, Any]:
    """The ``geography`` section of truth.json for a German client or accounts abroad."""
    bc = pd.Series(acc.billing_country)
    if g.country.code == "CH" and (bc == g.country.billing_country).all():
        return {}
    if g.country.code == "CH":
        return {
            "geography": {
                "country": "CH",
                "abroad_share": g.abroad_share,
                "accounts_by_country": {
                    str(k): int(v) for k, v in bc.value_counts().sort_index().items()
                },
                "abroad": "accounts placed in Liechtenstein and in German PLZ within 30 km of "
                "Switzerland, drawn by estimated population; today they belong to the nearest "
                "field rep",
            }
        }
    return {
        "geography": {
            "country": g.country.code,
            "currency": g.country.currency,
            "postal_codes": int(len(g.pcs)),
            "account_density": "each account's PLZ drawn with probability proportional to the "
            "PLZ's population proxy",
            "population_proxy": g.country.population_source,
            "region_population": "Destatis, Länder on 31 Dec 2022, rounded to thousands",
            "field_reps": f"one per {ACCOUNTS_PER_FIELD_REP} accounts, split over the region "
            "teams by fixed shares",
        }
    }


def _write_truth(
    out: Path,
    seed: int,
    dates: tuple[int, int, int],
    plan: _DemoPlan,
    truth_acc: pd.DataFrame,
    stats: dict[str, Any],
    rows_written: dict[str, int],
    win_cells: dict[str, np.ndarray],
) -> dict[str, Any]:
    """Write ``truth.json`` (:func:`_truth`) and return it."""
    today, history_start, act_start = dates
    g, book, acc, cust, cat, con = plan.g, plan.book, plan.acc, plan.cust, plan.cat, plan.con
    n = acc.n
    funnel_empirical, act_stats = stats["funnel_empirical"], stats["act_stats"]
    truth = _truth(
        seed=seed,
        n=n,
        as_of=str(np.datetime64(today, "D")),
        history_start=str(np.datetime64(history_start, "D")),
        act_start=str(np.datetime64(act_start, "D")),
        urban_threshold=g.urban_threshold,
        truth_acc=truth_acc,
        eidx=cust.eidx,
        cs=cust.cs,
        today=today,
        xb=cust.xb,
        first_term=cust.first_term,
        cpm=_cost_per_minute(),
        funnel_empirical=funnel_empirical,
        act_stats=act_stats,
        reps=book.reps,
        rep_ids=book.ids,
        owner=acc.owner,
        status=cust.status,
        pot=acc.pot,
        c_acc=con.acc,
        c_mrr=con.mrr,
        c_churned=con.churned,
        rows=rows_written,
        win_cells=win_cells,
        families=cat.prod["family"].to_numpy(str),
        regions=g.regions,
        client=g.country.client,
    )
    truth.update(_truth_geography(g, acc))
    with (out / "truth.json").open("w", encoding="utf-8") as fh:
        json.dump(truth, fh, indent=2, ensure_ascii=False, allow_nan=False)
        fh.write("\n")
    return truth


def _activities(
    out: Path,
    s_act: np.random.SeedSequence,
    acc: _AccountPlan,
    cust: _CustomerPlan,
    book: _RepBook,
    acc_ids: pa.Array,
    window: tuple[int, int],
) -> tuple[np.ndarray, dict[str, int], np.ndarray, dict[str, Any]]:
    """Activity rates per account (per year, 4 types) and the written ``Task``/``Event`` files.

    The rates, rows written, each account's first activity day and the activity statistics.
    """
    lam = _activity_rates(acc, cust)
    rows, first, stats = _write_activities(
        out,
        s_act,
        acc.n,
        lam,
        window[0],
        window[1],
        acc.channel,
        lambda a, d: acc.channel_rep(book, a, d),
        acc_ids,
        book.ids,
    )
    return lam, rows, first, stats


def _check_country(country: str, abroad: float) -> None:
    """The demo client's country and share abroad, or a :class:`ParameterError`."""
    if country not in DEMO_COUNTRIES:
        raise ParameterError(
            f"country must be one of {', '.join(DEMO_COUNTRIES)} for the demo client, got "
            f"{country!r}"
        )
    if not 0.0 <= abroad < 0.5 or (abroad > 0 and country != "CH"):
        raise ParameterError(
            f"abroad must be a share in [0, 0.5) and is for the Swiss client only, got {abroad!r}"
        )


def generate(
    out_dir: str | Path,
    n_accounts: int = 20_000,
    seed: int = 42,
    as_of: str = "2026-06-30",
    country: str = "CH",
    abroad: float = 0.0,
) -> dict[str, Any]:
    """Generate the demo client's Salesforce-style export with planted truths.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing; existing export files are overwritten).
    n_accounts
        Number of accounts (at least 100). 20,000 takes seconds; 1,000,000 works (chunked).
    seed
        Seed of every random step; the same arguments give identical files.
    as_of
        The export's "today" (ISO date).
    country
        ``CH`` (default, the Swiss client) or ``DE``: the same kind of client across Germany
        (:data:`DEMO_COUNTRIES`; population proxy stated in ``truth.json["geography"]``, EUR).
    abroad
        Swiss client only: share of accounts in Liechtenstein and German PLZ within 30 km of
        Switzerland (own random stream; the Swiss accounts' draws stay those of ``abroad=0``).

    Returns
    -------
    dict
        ``out_dir``, ``seed``, ``n_accounts``, ``as_of``, ``rows`` (file name -> data rows),
        ``status_shares`` and ``seconds``.

    Raises
    ------
    ValueError
        For a bad ``n_accounts``, ``seed`` or ``as_of`` (all problems in one message).
    """
    t0 = time.perf_counter()
    today = _check_args(n_accounts, seed, as_of)
    _check_country(country, abroad)
    n = int(n_accounts)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ss = np.random.SeedSequence(seed)
    (s_reps, s_acc, s_cust, s_con, s_opp, s_names, s_act) = ss.spawn(7)
    history_start = int(_add_months(np.array([today]), np.array([-60]))[0])
    act_start = today - ACTIVITY_WINDOW_DAYS
    rows_written: dict[str, int] = {}

    g = _geography(country, int(n_accounts))
    book = _rep_book(np.random.default_rng(s_reps), g, today)
    arng = np.random.default_rng(s_acc)
    acc = _plan_accounts(arng, n, g, book, (abroad, int(seed)))
    cust = _plan_customers(np.random.default_rng(s_cust), acc, history_start, today)
    cat = _catalogue()
    win_cells: dict[str, np.ndarray] = {}
    rows_written["Product2.csv"] = _write_products(out, cat)
    orng = np.random.default_rng(s_opp)
    con = _plan_contracts(np.random.default_rng(s_con), orng, acc, cust, cat, today)
    acc_ids = _sf_ids("001", n)
    rows_written["Contract.csv"] = _write_contracts(out, con, acc, book, cat, acc_ids)
    names = _names(np.random.default_rng(s_names), acc, g)

    opps = _deals(orng, acc, cust, con, cat, (today, history_start, act_start), win_cells)
    o_rep = acc.channel_rep(book, opps["acc"], opps["created"])
    acct_first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    u_acc, u_first = np.unique(opps["acc"], return_index=True)  # deals are sorted by created
    acct_first[u_acc] = opps["created"][u_first]
    rows_written.update(
        _write_opportunities(
            out,
            opps,
            o_rep,
            acc_ids,
            book.ids,
            cat.ids,
            names,
            cat.prod,
            (con.acc, con.prod, con.mrr, con.kind),
        )
    )
    funnel_empirical = _funnel_empirical(opps)

    lam, act_rows, act_first, act_stats = _activities(
        out, s_act, acc, cust, book, acc_ids, (act_start, today)
    )
    rows_written.update(act_rows)
    acct_first = np.minimum(acct_first, act_first)
    rows_written["Account.csv"], has_cs = _write_accounts(
        out, arng, acc, cust, g, book, (acc_ids, names), acct_first, today
    )
    rows_written["User.csv"] = _write_users(out, book.reps, book.ids, g.pcs, book.home)
    rows_written["Channel_Cost_Rates.csv"] = _write_channel_rates(out, g.country.rates_column)

    truth_acc = _truth_accounts(acc, cust, book, acc_ids, lam, has_cs, g.regions)
    pq.write_table(
        pa.Table.from_pandas(truth_acc, preserve_index=False), out / "truth_accounts.parquet"
    )
    truth = _write_truth(
        out,
        seed,
        (today, history_start, act_start),
        _DemoPlan(g, book, acc, cust, cat, con),
        truth_acc,
        {"funnel_empirical": funnel_empirical, "act_stats": act_stats},
        rows_written,
        win_cells,
    )
    return {
        "out_dir": str(out),
        "seed": int(seed),
        "n_accounts": n,
        "as_of": truth["as_of"],
        "rows": rows_written,
        "status_shares": truth["status_shares"],
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _scatter(n: int, idx: np.ndarray, values: np.ndarray, fill: Any) -> np.ndarray:
    out = np.full(n, fill, dtype=np.asarray(values).dtype if not isinstance(fill, float) else float)
    out[idx] = values
    return out


def _simulate_funnel(
    rng: np.random.Generator, conversion: list[float], size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Stages entered (1..len(conversion)) and won flag for ``size`` deals."""
    adv = rng.random((size, len(conversion))) < np.asarray(conversion)[None, :]
    first_fail = np.where(adv.all(axis=1), len(conversion), np.argmin(adv, axis=1))
    won = first_fail == len(conversion)
    reach = np.minimum(first_fail + 1, len(conversion))
    return reach.astype(np.int64), won


def _account_names(
    rng: np.random.Generator, industry: np.ndarray, ind_names: np.ndarray, place: np.ndarray
) -> pa.Array:
    n = len(industry)
    pre = np.empty(n, dtype=object)
    mid_kind = np.empty(n, dtype=object)
    suf = np.empty(n, dtype=object)
    u = rng.random(n)
    for i, name in enumerate(ind_names):
        sel = industry == i
        tpl = _NAME_TEMPLATES[str(name)]
        t = np.minimum((u[sel] * len(tpl)).astype(np.int64), len(tpl) - 1)
        pre[sel] = np.array([x[0] for x in tpl], dtype=object)[t]
        mid_kind[sel] = np.array([x[1] for x in tpl], dtype=object)[t]
        suf[sel] = np.array([x[2] for x in tpl], dtype=object)[t]
    surname = _LAST[rng.integers(0, len(_LAST), size=n)]
    first = _FIRST[rng.integers(0, len(_FIRST), size=n)]
    mid = np.where(mid_kind == "S", surname, np.where(mid_kind == "F", first, place))
    return _join(pa.array(pre, pa.string()), pa.array(mid.astype(str)), pa.array(suf, pa.string()))


_STAGES = (
    "Prospecting", "Qualification", "Needs Analysis", "Proposal", "Negotiation",
    "Closed Won", "Closed Lost",
)  # fmt: skip
_EXISTING_COLS = np.array([1, 3, 4])  # Qualification, Proposal, Negotiation
_LEAD_SOURCES = np.array(
    ["Cold Call", "Trade Show", "Partner Referral", "Phone Inquiry", "Web", "Existing Customer"]
)


def _opportunities(rng: np.random.Generator, **k: Any) -> dict[str, np.ndarray]:
    """All deals: new business (won, lost, open), upsell and renewal, as aligned arrays."""
    today, history_start = k["today"], k["history_start"]
    won, cs, eidx, channel, launch, price, logw = (
        k[x] for x in ("won", "cs", "eidx", "channel", "launch", "price", "logw")
    )
    nb = FUNNEL["new_business"]
    conv = np.asarray(nb["conversion"])
    S = len(nb["stages"])
    parts: list[dict[str, np.ndarray]] = []

    def new_part(acc, close, reach, is_won, prod, amount) -> dict[str, np.ndarray]:
        m = len(acc)
        dur = _stage_days(rng, nb["mean_days"], m)
        # stage k entered = close - sum of durations of stages k..reach-1
        dd = np.where(np.arange(S)[None, :] < reach[:, None], dur, 0)
        after = np.cumsum(dd[:, ::-1], axis=1)[:, ::-1]
        entered = np.where(np.arange(S)[None, :] < reach[:, None], close[:, None] - after, _NAT)
        return dict(acc=acc, kind=np.zeros(m, np.int64), entered=entered, reach=reach,
                    won=is_won, close=close, prod=prod, amount=amount)  # fmt: skip

    # won new business (incl. deals that close after as_of: open today)
    widx = np.flatnonzero(won)
    pos_e = np.full(len(won), -1, dtype=np.int64)
    pos_e[eidx] = np.arange(len(eidx))
    is_e = pos_e[widx] >= 0
    prod_w = _draw_products(rng, channel[widx], cs[widx], launch, logw)
    prod_w[is_e] = k["order_init"][pos_e[widx[is_e]], 0]
    c = k["c"]
    init = c["kind"] == 0
    init_amount = 12 * np.bincount(c["acc"][init], weights=c["mrr"][init], minlength=len(won))
    amount_w = np.where(is_e, init_amount[widx], _estimate(rng, price[prod_w]))
    parts.append(new_part(widx, cs[widx], np.full(len(widx), S), np.ones(len(widx), bool),
                          prod_w, amount_w))  # fmt: skip
    # a won deal's main product (the CRM's line item with the largest value): its largest
    # initial contract
    main = np.full(len(won), -1, dtype=np.int64)
    ia = c["acc"][init]
    o_main = np.lexsort((c["mrr"][init], ia))  # by account, then MRR: last per account wins
    main[ia[o_main]] = c["prod"][init][o_main]
    won_closed = np.zeros_like(logw)
    we = widx[is_e]
    np.add.at(won_closed, (channel[we], np.where(main[we] >= 0, main[we], prod_w[is_e])), 1.0)
    k["expected_lost_out"]["won"] = won_closed
    # lost new business: Poisson counts per stage of loss, relative to the won deals
    p_enter = np.concatenate([[1.0], np.cumprod(conv)[:-1]])
    c_k = p_enter * (1 - conv) / np.prod(conv)
    n_lost = rng.poisson(len(widx) * c_k)
    pool = np.flatnonzero(~won)
    if len(pool):
        reach_l = np.repeat(np.arange(1, S + 1), n_lost)
        m = len(reach_l)
        close_l = _growth_dates(
            rng, m, history_start, today + FUNNEL["won_window_extra_days"], FUNNEL["growth"]
        )
        acc_l = pool[rng.integers(0, len(pool), size=m)]
        logw_l = logw + k["log_loss"]  # planted channel x family effect on losing
        prod_l = _draw_products(rng, channel[acc_l], close_l - 60, launch, logw_l)
        # expected closed lost deals per channel x product (for the planted win rates)
        avail = launch[None, :] <= (close_l - 60)[:, None]
        pw = np.where(avail, np.exp(logw_l[channel[acc_l]]), 0.0)
        pw = pw / np.maximum(pw.sum(axis=1, keepdims=True), 1e-300)
        closed_l = close_l <= today
        exp_lost = np.zeros_like(logw)
        for ch in range(logw.shape[0]):
            sel = closed_l & (channel[acc_l] == ch)
            exp_lost[ch] = pw[sel].sum(axis=0)
        k["expected_lost_out"]["lost"] = exp_lost
        parts.append(new_part(acc_l, close_l, reach_l, np.zeros(m, bool), prod_l,
                              _estimate(rng, price[prod_l])))  # fmt: skip
    # upsell
    u = k["upsell"]
    mu = len(u["acc"])
    ent = np.full((mu, S), _NAT, dtype=np.int64)
    reached = np.arange(3)[None, :] < u["reach"][:, None]
    ent[:, _EXISTING_COLS] = np.where(reached, u["entered"], _NAT)
    up_amount = _estimate(rng, price[u["prod"]])
    # won upsells: amount = 12 x the contract's MRR (contracts of kind 1 start on the close date)
    up = c["kind"] == 1
    key_c = c["acc"][up].astype(np.int64) * 100 + c["prod"][up]  # one contract per product
    key_u = u["acc"].astype(np.int64) * 100 + u["prod"]
    oc = np.argsort(key_c, kind="stable")
    won_closed = u["won"] & (u["close"] <= today)
    pos = np.searchsorted(key_c[oc], key_u[won_closed])
    up_amount[won_closed] = 12 * c["mrr"][up][oc][pos]
    parts.append(dict(acc=u["acc"], kind=np.ones(mu, np.int64), entered=ent, reach=u["reach"],
                      won=u["won"], close=u["close"], prod=u["prod"], amount=up_amount))  # fmt: skip
    parts.extend(_renewal_deals(c, k["churn_day"], today, k["act_start"], S))
    return _censor_and_order(rng, parts, channel, today)


def _renewal_deals(
    c: dict[str, np.ndarray], churn: np.ndarray, today: int, act_start: int, S: int
) -> list[dict[str, np.ndarray]]:
    """Renewal deals of non-auto-renewing contracts with a term of 12+ months.

    Created ``renewal_lead_days`` before each term end in the activity window: won on the term end
    unless the account churned before (then lost on the churn date).
    """
    # renewals of non-auto-renewing contracts with a term of 12+ months
    sel = (~c["auto"]) & (c["term"] >= 12)
    r_acc, r_start, r_term = c["acc"][sel], c["start"][sel], c["term"][sel]
    r_mrr, r_prod = c["mrr"][sel], c["prod"][sel]
    offs = np.asarray(FUNNEL["renewal_stage_offsets_days"])
    rp: list[dict[str, np.ndarray]] = []
    for kk in range(1, 61 // 12 + 2):
        e = _add_months(r_start, kk * r_term) - 1
        created = e - FUNNEL["renewal_lead_days"]
        ch_day = churn[r_acc]
        alive = (ch_day == _NAT) | (created < ch_day)
        ok = (created >= act_start) & (created <= today) & (created >= r_start) & alive
        if not ok.any():
            continue
        a, e, cr, chd = r_acc[ok], e[ok], created[ok], ch_day[ok]
        lost = (chd != _NAT) & (chd <= e)
        close = np.where(lost, chd, e)
        reach = np.where(lost, (cr[:, None] + offs[None, :] <= chd[:, None]).sum(axis=1), 3)
        ent = np.full((len(a), S), _NAT, dtype=np.int64)
        ent[:, _EXISTING_COLS] = np.where(
            np.arange(3)[None, :] < reach[:, None], cr[:, None] + offs[None, :], _NAT
        )
        rp.append(dict(acc=a, kind=np.full(len(a), 2, np.int64), entered=ent, reach=reach,
                       won=~lost, close=close, prod=r_prod[ok], amount=12 * r_mrr[ok]))  # fmt: skip
    return rp


def _censor_and_order(
    rng: np.random.Generator,
    parts: list[dict[str, np.ndarray]],
    channel: np.ndarray,
    today: int,
) -> dict[str, np.ndarray]:
    """The deals as aligned arrays, censored at as_of, ordered by created date and account.

    Deals not yet created are dropped, running deals are open, later stages are not yet entered;
    some open amounts are missing; each has a lead source.
    """
    o = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    # censoring at as_of: deals not yet created are dropped, running deals are open
    first_entered = np.where(o["entered"] == _NAT, np.iinfo(np.int64).max, o["entered"]).min(axis=1)
    keep = first_entered <= today
    o = {key: v[keep] for key, v in o.items()}
    o["created"] = first_entered[keep]
    o["open"] = o["close"] > today
    visible = (o["entered"] != _NAT) & (o["entered"] <= today)
    o["entered"] = np.where(visible, o["entered"], _NAT)
    o["channel"] = channel[o["acc"]]
    ordr = np.lexsort((o["acc"], o["created"]))
    o = {key: v[ordr] for key, v in o.items()}
    o["amount"] = np.where(o["open"] & (rng.random(len(o["acc"])) < 0.05), np.nan, o["amount"])
    o["lead"] = np.where(
        o["kind"] > 0,
        5,
        np.where(
            o["channel"] == 0,
            rng.integers(0, 3, size=len(o["acc"])),
            np.where(o["channel"] == 1, np.where(rng.random(len(o["acc"])) < 0.5, 3, 0), 4),
        ),
    )
    return o


def _estimate(rng: np.random.Generator, list_price: np.ndarray) -> np.ndarray:
    return np.round(12 * list_price * rng.uniform(0.8, 1.2, size=len(list_price)))


def _draw_products(
    rng: np.random.Generator, ch: np.ndarray, day: np.ndarray, launch: np.ndarray, logw: np.ndarray
) -> np.ndarray:
    keys = logw[ch] + rng.gumbel(size=(len(ch), len(launch)))
    keys = np.where(launch[None, :] <= day[:, None], keys, -np.inf)
    return np.argmax(keys, axis=1)


def _funnel_empirical(o: dict[str, np.ndarray]) -> dict[str, Any]:
    """Stage conversion among deals whose outcome at that stage is known (not censored)."""
    res: dict[str, Any] = {}
    for label, kind, cols in (("new_business", 0, np.arange(5)), ("upsell", 1, _EXISTING_COLS),
                              ("renewal", 2, _EXISTING_COLS)):  # fmt: skip
        sel = o["kind"] == kind
        ent = o["entered"][sel][:, cols] != _NAT
        closed = ~o["open"][sel]
        isw = o["won"][sel] & closed
        rates = []
        for j in range(len(cols)):
            entered_j = ent[:, j]
            nxt = ent[:, j + 1] if j + 1 < len(cols) else isw
            decided = entered_j & (nxt | closed)
            rates.append(float(nxt[decided].mean()) if decided.any() else None)
        res[label] = {
            "deals": int(sel.sum()),
            "open": int((~closed).sum()),
            "won": int(isw.sum()),
            "lost": int((closed & ~isw).sum()),
            "win_rate_closed": float(isw[closed].mean()) if closed.any() else None,
            "stage_conversion_decided": rates,
        }
    return res


_OPP_CHUNK = 200_000  # deals per written chunk (bounds memory at 1M accounts)


def _write_opportunities(
    out: Path,
    o: dict[str, np.ndarray],
    o_rep: np.ndarray,
    acc_ids: pa.Array,
    rep_ids: pa.Array,
    prod_ids: pa.Array,
    names: pa.Array,
    prod: pd.DataFrame,
    contracts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> dict[str, int]:
    """Write Opportunity, OpportunityHistory and OpportunityLineItem in chunks of deals."""
    m = len(o["acc"])
    c_acc, c_prod, c_mrr, c_kind = contracts
    init = np.flatnonzero(c_kind == 0)
    init = init[np.argsort(c_acc[init], kind="stable")]
    init_acc = c_acc[init]
    price = prod["price"].to_numpy(float)
    prod_names = prod["name"].to_numpy(str)
    stages = np.array(_STAGES)
    type_labels = np.array(
        ["New Business", "Existing Business - Upsell", "Existing Business - Renewal"]
    )
    suffixes = np.array([" (New)", " (Upsell)", " (Renewal)"])
    files = ("Opportunity.csv", "OpportunityHistory.csv", "OpportunityLineItem.csv")
    writers: dict[str, pacsv.CSVWriter] = {}
    counts = dict.fromkeys(files, 0)

    def emit(name: str, cols: dict[str, Any]) -> None:
        tbl = pa.table(cols)
        if name not in writers:
            writers[name] = pacsv.CSVWriter(out / name, tbl.schema)
        writers[name].write_table(tbl)
        counts[name] += tbl.num_rows

    try:
        for s0 in range(0, max(m, 1), _OPP_CHUNK):
            sl = slice(s0, min(m, s0 + _OPP_CHUNK))
            acc, kind, ent = o["acc"][sl], o["kind"][sl], o["entered"][sl]
            is_open, is_won, close = o["open"][sl], o["won"][sl], o["close"][sl]
            amount_np = np.round(o["amount"][sl], 2)
            k = len(acc)
            opp_ids = _sf_ids("006", k, start=s0 + 1)
            last_col = np.where(ent != _NAT, np.arange(ent.shape[1])[None, :], -1).max(axis=1)
            stage_idx = np.where(is_open, last_col, np.where(is_won, 5, 6))
            amount = pa.array(amount_np, from_pandas=True)
            emit(
                "Opportunity.csv",
                {
                    "Id": opp_ids,
                    "Name": _join(
                        names.take(pa.array(acc)),
                        " – ",
                        pa.array(prod_names[o["prod"][sl]]),
                        pa.array(suffixes[kind]),
                    ),
                    "AccountId": acc_ids.take(pa.array(acc)),
                    "OwnerId": rep_ids.take(pa.array(o_rep[sl])),
                    "Type": pa.array(type_labels[kind]),
                    "StageName": pa.array(stages[stage_idx]),
                    "Amount": amount,
                    "CreatedDate": _dates(o["created"][sl]),
                    "CloseDate": _dates(close),
                    "IsClosed": ~is_open,
                    "IsWon": is_won & ~is_open,
                    "LeadSource": pa.array(_LEAD_SOURCES[o["lead"][sl]]),
                    "Sales_Channel__c": pa.array(_CHANNEL_LABEL[o["channel"][sl]]),
                },
            )
            # history: one row per stage entered, plus the closing stage
            oi, col = np.nonzero(ent != _NAT)
            h_opp = np.concatenate([oi, np.flatnonzero(~is_open)])
            h_stage = np.concatenate([col, np.where(is_won, 5, 6)[~is_open]])
            h_day = np.concatenate([ent[oi, col], close[~is_open]])
            hs = np.lexsort((h_stage, h_opp))
            h_opp, h_stage, h_day = h_opp[hs], h_stage[hs], h_day[hs]
            emit(
                "OpportunityHistory.csv",
                {
                    "Id": _sf_ids("008", len(h_opp), start=counts["OpportunityHistory.csv"] + 1),
                    "OpportunityId": opp_ids.take(pa.array(h_opp)),
                    "StageName": pa.array(stages[h_stage]),
                    "CreatedDate": _dates(h_day),
                    "Amount": amount.take(pa.array(h_opp)),
                    "CloseDate": _dates(close[h_opp]),
                },
            )
            # line items: 12 months of the deal's product; a won new-business deal has one line
            # per initial contract of the account (its product and MRR)
            unit = np.where(np.isnan(amount_np), price[o["prod"][sl]], amount_np / 12)
            nbw = (kind == 0) & is_won & ~is_open
            lo = np.searchsorted(init_acc, acc[nbw], side="left")
            n_lines = np.searchsorted(init_acc, acc[nbw], side="right") - lo
            w_opp = np.repeat(np.flatnonzero(nbw), n_lines)
            within = np.arange(n_lines.sum()) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
            w_con = init[np.repeat(lo, n_lines) + within]
            other = np.flatnonzero(~nbw)
            li_opp = np.concatenate([other, w_opp])
            li_prod = np.concatenate([o["prod"][sl][other], c_prod[w_con]])
            li_unit = np.round(np.concatenate([unit[other], c_mrr[w_con]]), 2)
            srt = np.argsort(li_opp, kind="stable")
            li_opp, li_prod, li_unit = li_opp[srt], li_prod[srt], li_unit[srt]
            emit(
                "OpportunityLineItem.csv",
                {
                    "Id": _sf_ids("00k", len(li_opp), start=counts["OpportunityLineItem.csv"] + 1),
                    "OpportunityId": opp_ids.take(pa.array(li_opp)),
                    "Product2Id": prod_ids.take(pa.array(li_prod)),
                    "Quantity": np.full(len(li_opp), 12, dtype=np.int64),
                    "UnitPrice": li_unit,
                    "TotalPrice": np.round(12 * li_unit, 2),
                },
            )
    finally:
        for w in writers.values():
            w.close()
    return counts


def _write_activities(
    out: Path,
    seed_seq: np.random.SeedSequence,
    n: int,
    lam: np.ndarray,
    start: int,
    today: int,
    channel: np.ndarray,
    channel_rep: Any,
    acc_ids: pa.Array,
    rep_ids: pa.Array,
) -> tuple[dict[str, int], np.ndarray, dict[str, Any]]:
    years = (today - start) / 365.25
    n_chunks = max(1, math.ceil(n / _CHUNK))
    seeds = seed_seq.spawn(n_chunks)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    task_w = event_w = None
    n_task = n_event = 0
    sum_min = np.zeros(4)
    cnt = np.zeros(4, dtype=np.int64)
    mu = np.log(ACTIVITY_MEAN_MINUTES) - ACTIVITY_SIGMA**2 / 2
    subj_task = np.array(["", "Call", "Email", ""])
    subj_event = np.array(["Customer visit", "", "", "Online session"])
    event_type = np.array(["Visit", "", "", "Online Session"])
    task_sub = np.array(["", "Call", "Email", ""])
    try:
        for ci in range(n_chunks):
            rng = np.random.default_rng(seeds[ci])
            a0, a1 = ci * _CHUNK, min(n, (ci + 1) * _CHUNK)
            counts = rng.poisson(lam[a0:a1] * years)
            acc = np.repeat(np.repeat(np.arange(a0, a1), 4), counts.ravel())
            typ = np.repeat(np.tile(np.arange(4), a1 - a0), counts.ravel())
            day = start + rng.integers(0, today - start + 1, size=len(acc))
            minutes = np.maximum(
                1, np.round(np.exp(mu[typ] + ACTIVITY_SIGMA * rng.standard_normal(len(acc))))
            )
            o = np.lexsort((day, acc))
            acc, typ, day, minutes = acc[o], typ[o], day[o], minutes[o]
            starts = np.flatnonzero(np.r_[True, acc[1:] != acc[:-1]]) if len(acc) else []
            first[acc[starts]] = day[starts]  # sorted by account, then day
            rep = channel_rep(acc, day)
            sum_min += np.bincount(typ, weights=minutes, minlength=4)
            cnt += np.bincount(typ, minlength=4)
            ch_lab = _CHANNEL_LABEL[channel[acc]]
            is_task = (typ == 1) | (typ == 2)
            t = np.flatnonzero(is_task)
            if len(t):
                call = typ[t] == 1
                tbl = pa.table(
                    {
                        "Id": _sf_ids("00T", len(t), start=n_task + 1),
                        "OwnerId": rep_ids.take(pa.array(rep[t])),
                        "AccountId": acc_ids.take(pa.array(acc[t])),
                        "WhatId": acc_ids.take(pa.array(acc[t])),
                        "ActivityDate": _dates(day[t]),
                        "Subject": pa.array(subj_task[typ[t]]),
                        "TaskSubtype": pa.array(task_sub[typ[t]]),
                        "CallDurationInSeconds": pa.array(
                            (minutes[t] * 60).astype(np.int64), mask=~call
                        ),
                        "Duration_Minutes__c": minutes[t].astype(np.int64),
                        "Channel__c": pa.array(ch_lab[t]),
                    }
                )
                if task_w is None:
                    task_w = pacsv.CSVWriter(out / "Task.csv", tbl.schema)
                task_w.write_table(tbl)
                n_task += len(t)
            e = np.flatnonzero(~is_task)
            if len(e):
                tbl = pa.table(
                    {
                        "Id": _sf_ids("00U", len(e), start=n_event + 1),
                        "OwnerId": rep_ids.take(pa.array(rep[e])),
                        "AccountId": acc_ids.take(pa.array(acc[e])),
                        "WhatId": acc_ids.take(pa.array(acc[e])),
                        "ActivityDate": _dates(day[e]),
                        "Subject": pa.array(subj_event[typ[e]]),
                        "Type": pa.array(event_type[typ[e]]),
                        "DurationInMinutes": minutes[e].astype(np.int64),
                        "Channel__c": pa.array(ch_lab[e]),
                    }
                )
                if event_w is None:
                    event_w = pacsv.CSVWriter(out / "Event.csv", tbl.schema)
                event_w.write_table(tbl)
                n_event += len(e)
    finally:
        for w in (task_w, event_w):
            if w is not None:
                w.close()
    stats_ = {
        "count_by_type": dict(zip(ACTIVITY_TYPES, cnt.tolist(), strict=True)),
        "mean_minutes_by_type": {
            t: (float(sum_min[i] / cnt[i]) if cnt[i] else None)
            for i, t in enumerate(ACTIVITY_TYPES)
        },
    }
    return {"Task.csv": n_task, "Event.csv": n_event}, first, stats_


def _write_users(
    out: Path, reps: dict[str, Any], rep_ids: pa.Array, pcs: pd.DataFrame, rep_home: np.ndarray
) -> int:
    rows = reps["rows"]
    role_label = {
        "field": ("Field Sales", "Field Sales Representative"),
        "tele": ("Tele Sales", "Tele Sales Representative"),
        "online": ("Inside Sales", "Inside Sales Representative"),
        "key_account": ("Key Account Manager", "Key Account Manager"),
        "team_lead": ("Team Lead", "Team Lead Sales"),
    }
    mgr = np.array([r["manager"] for r in rows])
    return _write_csv(
        out / "User.csv",
        {
            "Id": rep_ids,
            "FirstName": [r["first"] for r in rows],
            "LastName": [r["last"] for r in rows],
            "Name": [f"{r['first']} {r['last']}" for r in rows],
            "Title": [role_label[r["role"]][1] for r in rows],
            "Sales_Role__c": [role_label[r["role"]][0] for r in rows],
            "PostalCode": pa.array(pcs["postal_code"].to_numpy(str)[rep_home]),
            "City": pa.array(pcs["place"].to_numpy(str)[rep_home]),
            "Latitude": pcs["latitude"].to_numpy(float)[rep_home],
            "Longitude": pcs["longitude"].to_numpy(float)[rep_home],
            "FTE__c": [r["fte"] for r in rows],
            "Capacity_Hours__c": [r["capacity"] for r in rows],
            "Department": [r["team"] for r in rows],
            "ManagerId": rep_ids.take(pa.array(np.where(mgr >= 0, mgr, 0), mask=mgr < 0)),
            "IsActive": [r["active"] for r in rows],
            "Hire_Date__c": _dates(np.array([r["hire"] for r in rows])),
        },
    )


def _channel_matrix_truth(cells: dict[str, np.ndarray], families: np.ndarray) -> dict[str, Any]:
    """Planted new-business win rate per channel x product family (closed deals, expected)."""
    fams = list(dict.fromkeys(families.tolist()))
    won, lost = cells["won"], cells["lost"]
    rate: dict[str, dict[str, float | None]] = {}
    counts: dict[str, dict[str, int]] = {}
    for f in fams:
        sel = families == f
        rate[f], counts[f] = {}, {}
        for i, c in enumerate(CHANNELS):
            w, lo = float(won[i, sel].sum()), float(lost[i, sel].sum())
            rate[f][c] = w / (w + lo) if w + lo > 0 else None  # no closed deal: no rate
            counts[f][c] = int(round(w + lo))
    return {
        "model": "a lost new-business deal's product is drawn with weight popularity x "
        "exp(complexity tilt of its channel) x loss factor[family][channel]; the number of "
        "lost deals per channel and funnel stage is unchanged (the funnel's stage conversion "
        "holds overall), so the factors shift only the win rate between product families",
        "loss_factor": CHANNEL_FAMILY_LOSS,
        "expected_win_rate_new_business": rate,
        "expected_closed_deals_new_business": counts,
        "expected_win_rate_definition": "won closed deals / (won closed deals + expected lost "
        "closed deals) per channel and family, deals closed on or before as_of",
        "expected_channel": {
            "SEO": "field",
            "Listings": "online",
        },
        "expected_channel_reason": {
            "SEO": "wins far more often in the field (complex, consultative)",
            "Listings": "wins as often online as by tele, at a fraction of the cost",
        },
        "existing_customers": "upsell conversion does not depend on channel or family",
    }


def _potential_truth(urban_threshold: float, ta: pd.DataFrame) -> dict[str, Any]:
    """The planted potential model."""
    return {
        "model": "log(pot) = b0 + elasticity_employees*log(employees) + industry_effect[industry] "
        "+ urban_effect*urban + N(0, noise_sd^2); customer MRR = pot * penetration",
        "b0": POTENTIAL["b0"],
        "elasticity_employees": POTENTIAL["elasticity_employees"],
        "urban_effect": POTENTIAL["urban_effect"],
        "noise_sd": POTENTIAL["noise_sd"],
        "industry_effect": {k: v[1] for k, v in INDUSTRIES.items()},
        "industry_share": {k: v[0] for k, v in INDUSTRIES.items()},
        "urban_definition": "postal-code density (population 2016 / approx. area) >= the "
        "2/3-quantile over postal codes with population and area (densest third of codes)",
        "urban_density_threshold_per_km2": urban_threshold,
        "urban_share_of_accounts": float(ta["urban"].mean()),
        "penetration": "Beta(2, 3), independent of everything else (mean 0.4)",
        "employees": "ceil(LogNormal(log 6, 0.8)) for 97%, ceil(LogNormal(log 50, 0.8)) for "
        "3%, capped at 5000; independent of industry and place",
        "quantile_slope_note": "log(MRR) = log(pot) + log(penetration) with penetration "
        "independent of employees: the slope on log(employees) is 0.6 at every quantile",
    }


def _churn_truth(k: dict[str, Any]) -> dict[str, Any]:
    """The planted churn model (Weibull proportional hazards) and its 12-month churn."""
    status, eidx, cs, today = k["status"], k["eidx"], k["cs"], k["today"]
    xb, first_term = k["xb"], k["first_term"]
    scale = CHURN["scale_months"]
    shape = CHURN["shape"]
    h12 = (12 / scale) ** shape
    follow = cs[eidx] <= today - round(12 * CHURN["month_days"])
    p12 = 1 - np.exp(-h12 * np.exp(xb))
    pop_12 = {
        str(t): float(p12[follow & (first_term == t)].mean())
        for t in _TERMS
        if (follow & (first_term == t)).any()
    }
    return {
        "model": "S(t|x) = exp(-(t/scale)^shape * exp(x beta)), t in months since "
        "customer_since (1 month = 30.4375 days), covariates at acquisition",
        "shape": shape,
        "scale_months": scale,
        "reference": {
            "term_months": 12,
            "auto_renewal": False,
            "channel": "field",
            "n_products_start": 1,
        },  # fmt: skip
        "hazard_ratios": {
            "term_months": {str(t): v for t, v in CHURN["hr_term"].items()},
            "auto_renewal": CHURN["hr_auto_renewal"],
            "channel": CHURN["hr_channel"],
            "per_additional_product_at_start": CHURN["hr_per_additional_product"],
        },
        "n_products_start_definition": "contracts starting within 30 days of customer_since",
        "reference_12m_churn": CHURN["reference_12m_churn"],
        "expected_12m_churn_by_term_reference_covariates": {
            str(t): float(1 - math.exp(-h12 * CHURN["hr_term"][int(t)])) for t in _TERMS
        },
        "expected_12m_churn_by_term_customers_with_12m_followup": pop_12,
        "censoring": "at as_of; churn date = customer_since + max(1, round(T * 30.4375)) days",
        "term_probs_by_channel": {c: list(v) for c, v in CHURN["term_probs"].items()},
        "auto_renewal_prob": CHURN["auto_renewal_prob"],
        "n_products_probs_by_channel": {c: list(v) for c, v in CHURN["n_products_probs"].items()},
        "churned_customers": int((status == 2).sum()),
    }


def _channel_costs_truth(k: dict[str, Any]) -> dict[str, Any]:
    """Channel cost rates, activity rates and minutes, travel and the expected cost to serve."""
    cpm = k["cpm"]
    cost_by = (
        k["truth_acc"]
        .groupby(["serving_channel", "status"])["expected_cost_to_serve"]
        .mean()
        .round(2)
    )
    return {
        "rates": CHANNEL_RATES,
        "cost_per_minute": {c: float(cpm[i]) for i, c in enumerate(CHANNELS)},
        "cost_per_minute_definition": "Cost_Per_Year_CHF / (Capacity_Hours * 60)",
        "activity_mean_minutes": dict(
            zip(ACTIVITY_TYPES, ACTIVITY_MEAN_MINUTES.tolist(), strict=True)
        ),
        "activity_minutes_distribution": "round(LogNormal(log(mean) - 0.5^2/2, 0.5)), >= 1",
        "activity_minutes_generated_mean": k["act_stats"]["mean_minutes_by_type"],
        "activity_counts": k["act_stats"]["count_by_type"],
        "activity_rates_per_year": {
            c: dict(zip(ACTIVITY_TYPES, ACTIVITY_RATES[i].tolist(), strict=True))
            for i, c in enumerate(CHANNELS)
        },
        "rate_multipliers": "value: clip((pot / median pot)^0.3, 0.5, 3); status: "
        + json.dumps(STATUS_ACTIVITY_MULT),
        "activity_channel": "every activity of an account is done in its serving channel "
        "(field: owner; tele: a regional tele rep; online: the regional inside sales rep)",
        "travel": {
            "road_factor": ROAD_FACTOR,
            "speed_kmh": TRAVEL_SPEED_KMH,
            "definition": "per visit: km = 2 * 1.3 * haversine(rep home, account); minutes = "
            "km / 50 * 60 (cost at the field cost per minute); cost CHF 0.70 per km",
        },
        "expected_cost_to_serve_definition": "per account and year: sum over types of rate * "
        "mean minutes * cost per minute of its channel + visit rate * (travel minutes * field "
        "cost per minute + travel km * 0.70)",
        "expected_cost_to_serve_mean": {f"{ch}/{st}": float(v) for (ch, st), v in cost_by.items()},
    }


def _funnel_truth(k: dict[str, Any]) -> dict[str, Any]:
    """The planted funnels (new business, upsell, renewal) and what was generated."""
    nb, exi = FUNNEL["new_business"], FUNNEL["existing"]
    return {
        "new_business": {
            "stages": nb["stages"],
            "conversion": nb["conversion"],
            "win_rate": float(np.prod(nb["conversion"])),
            "mean_days": nb["mean_days"],
        },
        "existing_upsell": {
            "stages": exi["stages"],
            "conversion": exi["conversion"],
            "win_rate": float(np.prod(exi["conversion"])),
            "mean_days": exi["mean_days"],
        },
        "renewal": "outcome follows the churn model: won on the term end unless the account "
        "churned before (then lost on the churn date); stages entered 0/20/40 days after "
        "creation (60 days before the term end)",
        "duration_distribution": FUNNEL["duration_distribution"],
        "upsell_rate_per_year": FUNNEL["upsell_rate_per_year"],
        "censoring": "deals running at as_of are open in the stage reached; history rows only "
        "for stages entered on or before as_of",
        "empirical": k["funnel_empirical"],
    }


def _territories_truth(k: dict[str, Any]) -> dict[str, Any]:
    """The status quo territories: each active field rep and key account manager with their book."""
    reps, n, status = k["reps"], k["n"], k["status"]
    rep_ids = k["rep_ids"].to_pylist()
    owner, pot = k["owner"], k["pot"]
    mrr_acc = np.bincount(
        k["c_acc"][~k["c_churned"]], weights=k["c_mrr"][~k["c_churned"]], minlength=n
    )
    terr = []
    for i, r in enumerate(reps["rows"]):
        if r["role"] not in ("field", "key_account") or not r["active"]:
            continue
        sel = owner == i
        terr.append(
            {
                "rep_id": rep_ids[i],
                "role": r["role"],
                "team": r["team"],
                "prefixes": [f"{p:02d}" for p in r.get("prefixes", [])],
                "accounts": int(sel.sum()),
                "customers": int((sel & (status == 0)).sum()),
                "potential_mrr": float(pot[sel].sum()),
                "customer_mrr": float(mrr_acc[sel].sum()),
            }
        )
    field_pot = np.array([t["potential_mrr"] for t in terr if t["role"] == "field"])
    return {
        "model": "status quo: field reps own contiguous ranges of 2-digit postal-code "
        "prefixes inside their region, cut near equal population shares but displaced at "
        "random by up to 40% of a share (unbalanced); the top 1% accounts by potential are "
        "key accounts owned by the nearest key account manager",
        "key_account_share": 0.01,
        "regions": {
            r[0]: {"prefixes": f"{r[1]:02d}-{r[2]:02d}", "field_reps": r[3]}
            for r in k.get("regions", REGIONS)
        },
        "reps": terr,
        "field_potential_max_over_min": float(field_pot.max() / max(field_pot.min(), 1e-9)),
        "field_potential_cv": float(field_pot.std() / field_pot.mean()),
    }


def _reps_truth(k: dict[str, Any]) -> dict[str, Any]:
    """The sales team: active reps by role, new hires and their inactive predecessors."""
    reps = k["reps"]
    rep_ids = k["rep_ids"].to_pylist()
    roles: dict[str, int] = {}
    for r in reps["rows"]:
        if r["active"]:
            roles[r["role"]] = roles.get(r["role"], 0) + 1
    return {
        "active_by_role": roles,
        "inactive_predecessors": len(reps["new_hires"]),
        "new_hires": [rep_ids[i] for i in reps["new_hires"]],
        "capacity_hours": "round(U(1200, 1400) * FTE, -1)",
        "predecessor_rule": "contracts, deals and activities dated before a new hire's "
        "Hire_Date__c belong to the inactive predecessor",
    }


def _truth(**k: Any) -> dict[str, Any]:
    """``truth.json``: the planted models and what the generator drew, section by section."""
    n, status = k["n"], k["status"]
    return {
        "seed": int(k["seed"]),
        "n_accounts": n,
        "as_of": k["as_of"],
        "history_start": k["history_start"],
        "activity_window_start": k["act_start"],
        "month_days": CHURN["month_days"],
        "client": k.get("client", CLIENT_NAME),
        "rows": k["rows"],
        "status_shares": {
            s: float((status == i).mean())
            for i, s in enumerate(("customer", "prospect", "former_customer"))
        },
        "html_names": list(HTML_NAMES),
        "potential": _potential_truth(k["urban_threshold"], k["truth_acc"]),
        "churn": _churn_truth(k),
        "channel_costs": _channel_costs_truth(k),
        "channel_matrix": _channel_matrix_truth(k["win_cells"], k["families"]),
        "funnel": _funnel_truth(k),
        "territories": _territories_truth(k),
        "reps": _reps_truth(k),
    }


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def _cli(args: argparse.Namespace) -> int:
    try:
        summary = generate(
            args.out,
            n_accounts=args.accounts,
            seed=args.seed,
            as_of=args.as_of,
            country=args.country,
            abroad=args.abroad,
        )
    except ValueError as exc:
        raise UserError(
            f"demo-data: {exc}. Check --accounts, --seed, --as-of and --country."
        ) from exc
    except OSError as exc:
        raise UserError(
            f"demo-data: cannot write to {args.out!r}: {exc}. Choose another --out."
        ) from exc
    rows = ", ".join(f"{k} {v:,}".replace(",", "'") for k, v in summary["rows"].items())
    print(f"demo client written to {summary['out_dir']} in {summary['seconds']} s: {rows}")
    return 0


def register_cli(subparsers: Any) -> None:
    """Add the ``demo-data`` subcommand (see :mod:`salesanalytics.cli`)."""
    p = subparsers.add_parser(
        "demo-data",
        help="generate the demo client's Salesforce-style CRM export with planted truths",
        description="Generate the demo client (a Swiss SaaS firm selling websites, SEO and online "
        "marketing to small businesses) as a Salesforce-style CSV export, plus truth.json and "
        "truth_accounts.parquet with the planted truths. Same seed, same files.",
    )
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument(
        "--accounts", type=int, default=20_000, help="number of accounts (default 20000)"
    )
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument(
        "--as-of", default="2026-06-30", help="reference date YYYY-MM-DD (default 2026-06-30)"
    )
    p.add_argument(
        "--country",
        default="CH",
        choices=sorted(DEMO_COUNTRIES),
        help="CH: the Swiss client (default); DE: the same kind of client across Germany "
        "(German PLZ, EUR; 50,000 accounts make a realistic German client)",
    )
    p.add_argument(
        "--abroad",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="Swiss client only: share of accounts in Liechtenstein and in German PLZ near the "
        "border (a CH/LI/DE engagement; default 0)",
    )
    p.set_defaults(func=_cli)
