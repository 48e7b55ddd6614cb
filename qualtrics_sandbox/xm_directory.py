"""XM Directory and distribution details of the sandbox: contact dates and embedded data, contact
search, and mutations of contacts, mailing-list membership and distributions.

``data.py`` builds the directories, contacts, mailing lists and distributions; this module adds what
the contact *search* and *detail* routes show and what tests need to change between runs. Nothing here
draws from the account's main random stream at build time (a separate ``random.Random`` per seed),
so every ID and value ``data.py`` generated stays the same.

What is known about Qualtrics (its public "Search Directory Contacts" documentation; real contact
payloads quoted by client libraries):

- ``GET /directories/{d}/contacts`` lists ``contactId, firstName, lastName, email, phone, extRef,
  language, unsubscribed`` (+ ``embeddedData`` with ``includeEmbedded=true``) and no dates.
- ``GET /directories/{d}/contacts/{id}`` and contact search show ``creationDate``, ``lastModified`` and
  ``directoryUnsubscribeDate`` as **epoch milliseconds**, plus ``emailDomain``, ``writeBlanks``,
  ``directoryUnsubscribed``. Search elements carry the contact ID as ``id``.
- ``POST /directories/{d}/contacts/search`` takes ``{"filter": {"filterType", "comparison", "value"}}``,
  pages with ``skipToken``; a full page always carries a ``skipToken`` (the next page may then be
  empty); **paginating beyond the first 10,000 contacts gives 400**.
- ``GET /distributions/{id}/links`` updates the contacts' contact-frequency state (a side effect).

Modelled by inference (not documented anywhere we could read): the ``lastModified`` and
``creationDate`` filter types (comparisons ``eq, lt, lte, gt, gte``; value ISO-8601 or epoch ms), and
``{"conjunction": "and"|"or", "filters": [...]}`` to combine filters.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from qualtrics_sandbox import clock
from qualtrics_sandbox.clock import UTC, iso, iso_ms

if TYPE_CHECKING:
    from qualtrics_sandbox.data import Account, Survey

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAY_MS = 24 * 3600 * 1000

#: Qualtrics' search depth: paginating beyond this many contacts is refused with 400.
SEARCH_DEPTH_LIMIT = 10_000

TEXT_FILTERS = {
    "contactId": "contactId",
    "firstName": "firstName",
    "lastName": "lastName",
    "email": "email",
    "phone": "phone",
    "extRef": "extRef",
    "language": "language",
}
DATE_FILTERS = ("creationDate", "lastModified")
TEXT_COMPARISONS = ("eq", "ne", "contains")
DATE_COMPARISONS = ("eq", "lt", "lte", "gt", "gte")
MAX_FILTER_DEPTH = 5

EMBEDDED_KEYS = (
    ("region", ("EMEA", "AMER", "APAC")),
    ("customer_tier", ("gold", "silver", "bronze", "none")),
    ("plan", ("free", "team", "enterprise")),
)
NO_EMBEDDED_SHARE = 0.15  # contacts with no embedded data at all
EMBEDDED_KEY_SHARE = 0.8  # each of EMBEDDED_KEYS, on the other contacts
OPENED_SHARE = 0.3  # recipients who open a distribution added by POST /_sandbox/mutate
DISTRIBUTION_STATS = (
    "sent",
    "failed",
    "started",
    "bounced",
    "opened",
    "skipped",
    "finished",
    "complaints",
    "blocked",
)


class SearchError(ValueError):
    """A contact-search body the sandbox (and, as far as known, Qualtrics) refuses with 400."""


def to_ms(moment: datetime) -> int:
    return int((moment - EPOCH) / timedelta(milliseconds=1))


def from_ms(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


# --------------------------------------------------------------------------------------------------
# build
# --------------------------------------------------------------------------------------------------
def enrich(acct: Account) -> None:
    """Give every directory contact creation/modification dates and embedded data (own RNG)."""
    rng = random.Random(f"qualtrics-sandbox:{acct.seed}:xm-directory")
    now_ms = to_ms(acct.now)
    for directory in acct.directories:
        for contact in acct.contacts.get(directory["directoryId"], []):
            created = now_ms - rng.randint(30, 1500) * DAY_MS - rng.randint(0, DAY_MS)
            modified = min(
                now_ms - 1000, created + rng.randint(0, 400) * DAY_MS + rng.randint(0, DAY_MS)
            )
            acct.contact_details[contact["contactId"]] = {
                "creationDate": created,
                "lastModified": modified,
                "embeddedData": _embedded(rng),
                "directoryUnsubscribeDate": (
                    rng.randint(created, modified) if contact.get("unsubscribed") else None
                ),
            }


def _embedded(rng: random.Random) -> dict[str, str]:
    if rng.random() < NO_EMBEDDED_SHARE:
        return {}
    return {
        key: rng.choice(values)
        for key, values in EMBEDDED_KEYS
        if rng.random() < EMBEDDED_KEY_SHARE
    }


# --------------------------------------------------------------------------------------------------
# what the routes show
# --------------------------------------------------------------------------------------------------
def list_element(contact: dict[str, Any], acct: Account, include_embedded: bool) -> dict[str, Any]:
    """A ``GET .../contacts`` element: the stored contact, plus ``embeddedData`` when asked for."""
    if not include_embedded:
        return contact
    details = acct.contact_details.get(contact["contactId"]) or {}
    return {**contact, "embeddedData": dict(details.get("embeddedData") or {})}


def search_element(
    contact: dict[str, Any], acct: Account, include_embedded: bool
) -> dict[str, Any]:
    """A contact-search element (the detailed contact shape, dates in epoch milliseconds)."""
    details = acct.contact_details.get(contact["contactId"]) or {}
    email = contact.get("email")
    element = {
        "id": contact["contactId"],
        "firstName": contact.get("firstName"),
        "lastName": contact.get("lastName"),
        "email": email,
        "emailDomain": email.rsplit("@", 1)[1] if email and "@" in email else None,
        "phone": contact.get("phone"),
        "extRef": contact.get("extRef"),
        "language": contact.get("language"),
        "unsubscribed": contact.get("unsubscribed"),
        "writeBlanks": False,
        "creationDate": details.get("creationDate"),
        "lastModified": details.get("lastModified"),
        "directoryUnsubscribed": bool(contact.get("unsubscribed")),
        "directoryUnsubscribeDate": details.get("directoryUnsubscribeDate"),
    }
    if include_embedded:
        element["embeddedData"] = dict(details.get("embeddedData") or {})
    return element


def compile_filter(spec: Any, depth: int = 0) -> Callable[[dict[str, Any], dict[str, Any]], bool]:
    """Turn a search ``filter`` into a predicate over (contact, details); raises :class:`SearchError`."""
    if depth > MAX_FILTER_DEPTH:
        raise SearchError("Invalid request. The filter is nested too deeply.")
    if not isinstance(spec, dict):
        raise SearchError("Invalid request. filter must be an object.")
    if "conjunction" in spec:
        conjunction = spec.get("conjunction")
        parts = spec.get("filters")
        if conjunction not in ("and", "or") or not isinstance(parts, list) or not parts:
            raise SearchError(
                "Invalid request. A conjunction filter needs conjunction 'and' or 'or' and a "
                "non-empty filters list."
            )
        predicates = [compile_filter(part, depth + 1) for part in parts]
        if conjunction == "and":
            return lambda c, d: all(p(c, d) for p in predicates)
        return lambda c, d: any(p(c, d) for p in predicates)
    filter_type = spec.get("filterType")
    comparison = spec.get("comparison")
    value = spec.get("value")
    if filter_type in TEXT_FILTERS:
        if comparison not in TEXT_COMPARISONS or not isinstance(value, str):
            raise SearchError(
                f"Invalid request. filterType {filter_type} needs comparison eq, ne or contains and "
                "a string value."
            )
        key = TEXT_FILTERS[filter_type]
        wanted = value.lower()

        def text_matches(contact: dict[str, Any], _details: dict[str, Any]) -> bool:
            have = str(contact.get(key) or "").lower()
            if comparison == "eq":
                return have == wanted
            if comparison == "ne":
                return have != wanted
            return wanted in have

        return text_matches
    if filter_type in DATE_FILTERS:
        if comparison not in DATE_COMPARISONS:
            raise SearchError(
                f"Invalid request. filterType {filter_type} needs comparison eq, lt, lte, gt or gte."
            )
        bound = _filter_ms(value, filter_type)
        compare = {
            "eq": lambda x: x == bound,
            "lt": lambda x: x < bound,
            "lte": lambda x: x <= bound,
            "gt": lambda x: x > bound,
            "gte": lambda x: x >= bound,
        }[comparison]
        return lambda _c, d: d.get(filter_type) is not None and compare(d[filter_type])
    raise SearchError(f"Invalid request. Unknown filterType {filter_type!r}.")


def _filter_ms(value: Any, filter_type: str) -> int:
    if isinstance(value, bool):
        raise SearchError(f"Invalid request. Invalid value for {filter_type}.")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return to_ms(clock.parse_iso(value))
        except ValueError:
            pass
    raise SearchError(
        f"Invalid request. The value for {filter_type} must be an ISO-8601 timestamp or epoch "
        "milliseconds."
    )


def search(acct: Account, did: str, body: Any) -> list[dict[str, Any]]:
    """The contacts of directory ``did`` matching the body's filter (all of them without one)."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise SearchError("Invalid request. The body must be a JSON object.")
    spec = body.get("filter")
    predicate = None if spec is None else compile_filter(spec)
    contacts = acct.contacts.get(did, [])
    if predicate is None:
        return list(contacts)
    return [c for c in contacts if predicate(c, acct.contact_details.get(c["contactId"]) or {})]


def link_elements(acct: Account, dist: str) -> list[dict[str, Any]]:
    """``GET /distributions/{id}/links``: one link per recipient — and the side effect Qualtrics
    warns about: every call counts against the contacts' contact-frequency rules."""
    rows = acct.distribution_history.get(dist, [])
    acct.link_side_effects += len(rows)
    by_id = {c["contactId"]: c for cs in acct.contacts.values() for c in cs}
    elements = []
    for row in rows:
        contact = by_id.get(row["contactId"], {})
        acct.contact_frequency_hits[row["contactId"]] = (
            acct.contact_frequency_hits.get(row["contactId"], 0) + 1
        )
        elements.append(
            {
                "contactId": row["contactId"],
                "transactionId": None,
                "link": row["surveyLink"],
                "exceededContactFrequency": False,
                "linkExpiration": None,
                "status": "Email not sent",
                "lastName": contact.get("lastName"),
                "firstName": contact.get("firstName"),
                "externalDataReference": contact.get("extRef"),
                "email": contact.get("email"),
                "unsubscribed": contact.get("unsubscribed"),
            }
        )
    return elements


# --------------------------------------------------------------------------------------------------
# truth
# --------------------------------------------------------------------------------------------------
def truth(acct: Account) -> dict[str, Any]:
    """Extra ``/_sandbox/truth`` keys for directories and distributions (caller holds the lock)."""
    contacts = {}
    for directory in acct.directories:
        did = directory["directoryId"]
        contacts[did] = {}
        for contact in acct.contacts.get(did, []):
            modified = (acct.contact_details.get(contact["contactId"]) or {}).get("lastModified")
            contacts[did][contact["contactId"]] = (
                iso_ms(from_ms(modified)) if modified is not None else None
            )
    return {
        "contacts": contacts,
        "directory_mailing_lists": {
            did: [ml["mailingListId"] for ml in lists] for did, lists in acct.mailing_lists.items()
        },
        "mailing_list_members": {
            mlid: {m["contactId"]: m.get("contactLookupId") for m in members}
            for mlid, members in acct.mailing_list_contacts.items()
        },
        "distribution_modified": {
            d["id"]: d.get("modifiedDate") for ds in acct.distributions.values() for d in ds
        },
        "distribution_contacts": {
            dist: [[row["contactId"], row.get("contactLookupId")] for row in rows]
            for dist, rows in acct.distribution_history.items()
        },
        "links_side_effects": acct.link_side_effects,
        "deleted_contacts": {
            d["directoryId"]: list(acct.deleted_contacts.get(d["directoryId"], []))
            for d in acct.directories
        },
    }


# --------------------------------------------------------------------------------------------------
# mutations
# --------------------------------------------------------------------------------------------------
def check_directory_mutation(acct: Account, spec: dict[str, Any]) -> None:
    """Refuse a directory mutation before anything changes: unknown directory, list or contact
    (KeyError), ``remove_members`` without a list (KeyError), a negative count (ValueError)."""
    did = spec["directory_id"]
    if not any(d["directoryId"] == did for d in acct.directories):
        raise KeyError(did)
    mlid = spec.get("mailing_list_id")
    if mlid is not None and not any(
        m["mailingListId"] == mlid for m in acct.mailing_lists.get(did, [])
    ):
        raise KeyError(mlid)
    if int(spec.get("remove_members") or 0) and mlid is None:
        raise KeyError("remove_members needs mailing_list_id")
    known = {c["contactId"] for c in acct.contacts.get(did, [])}
    for cid in spec.get("delete_contact_ids") or []:
        if cid not in known:
            raise KeyError(cid)
    for key in ("add_contacts", "edit_contacts", "delete_contacts", "remove_members"):
        if int(spec.get(key) or 0) < 0:
            raise ValueError(f"{key} must not be negative")


def mutate_directory(
    acct: Account, spec: dict[str, Any], stamp: datetime, rng: random.Random
) -> dict:
    """``{"directory_id", "add_contacts": n, "edit_contacts": n, "mailing_list_id", "remove_members": n,
    "delete_contacts": n, "delete_contact_ids": [cid]}``.

    Added contacts join ``mailing_list_id`` when given; edits change a contact's language and embedded
    data and stamp ``lastModified``; ``remove_members`` drops n members of ``mailing_list_id`` (the
    contacts stay in the directory). Unknown directory or list -> KeyError before anything changes.

    ``delete_contacts`` / ``delete_contact_ids`` delete contacts from the directory, and with them
    from every mailing list of the directory (as deleting an XM Directory contact does); the lists
    they left get a new ``contactCount`` and ``lastModifiedDate`` = stamp. Distribution history keeps
    its rows (what was sent stays sent). Deletion comes first: edits and member removals of the same
    mutation pick among the remaining contacts. Result key ``deleted_contacts`` (only when asked for);
    truth ``deleted_contacts`` lists them per directory.
    """
    did = spec["directory_id"]
    directory = next((d for d in acct.directories if d["directoryId"] == did), None)
    if directory is None:
        raise KeyError(did)
    mlid = spec.get("mailing_list_id")
    mailing_list = None
    if mlid is not None:
        mailing_list = next(
            (m for m in acct.mailing_lists.get(did, []) if m["mailingListId"] == mlid), None
        )
        if mailing_list is None:
            raise KeyError(mlid)
    n_remove = int(spec.get("remove_members") or 0)
    if n_remove and mailing_list is None:
        raise KeyError("remove_members needs mailing_list_id")
    stamp_ms = to_ms(stamp)
    contacts = acct.contacts.setdefault(did, [])
    result: dict[str, list[str]] = {
        "added_contacts": [],
        "edited_contacts": [],
        "removed_members": [],
    }
    if "delete_contacts" in spec or "delete_contact_ids" in spec:
        result["deleted_contacts"] = _delete_contacts(acct, did, spec, stamp, rng)
        contacts = acct.contacts.setdefault(did, [])
    for contact in rng.sample(contacts, min(int(spec.get("edit_contacts") or 0), len(contacts))):
        details = acct.contact_details.setdefault(contact["contactId"], {"creationDate": stamp_ms})
        contact["language"] = rng.choice(["EN", "DE", "FR", "ES", "JA"])
        details["embeddedData"] = {**(details.get("embeddedData") or {}), "last_edit": iso(stamp)}
        details["lastModified"] = stamp_ms
        result["edited_contacts"].append(contact["contactId"])
    if n_remove:
        members = acct.mailing_list_contacts.setdefault(mlid, [])
        removed = rng.sample(members, min(n_remove, len(members)))
        acct.mailing_list_contacts[mlid] = [m for m in members if m not in removed]
        result["removed_members"] = [m["contactId"] for m in removed]
    for _ in range(int(spec.get("add_contacts") or 0)):
        first = rng.choice(["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances"])
        last = rng.choice(["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen"])
        contact = {
            "contactId": acct.ids("CID") if acct.ids else f"CID_{rng.getrandbits(60):015x}",
            "firstName": first,
            "lastName": last,
            "email": f"{first}.{last}{rng.randint(1, 999)}@example.org".lower(),
            "phone": None,
            "extRef": f"EXT-{rng.randint(10000, 99999)}",
            "language": "EN",
            "unsubscribed": False,
        }
        contacts.append(contact)
        acct.contact_details[contact["contactId"]] = {
            "creationDate": stamp_ms,
            "lastModified": stamp_ms,
            "embeddedData": {"region": rng.choice(["EMEA", "AMER", "APAC"])},
            "directoryUnsubscribeDate": None,
        }
        result["added_contacts"].append(contact["contactId"])
        if mailing_list is not None:
            member = dict(contact)
            member["contactLookupId"] = (
                acct.ids("MLRP") if acct.ids else f"MLRP_{rng.getrandbits(60):015x}"
            )
            member["embeddedData"] = {"tier": "bronze", "signup_year": str(stamp.year)}
            acct.mailing_list_contacts.setdefault(mlid, []).append(member)
    directory["contactCount"] = len(contacts)
    if mailing_list is not None and (result["added_contacts"] or result["removed_members"]):
        mailing_list["contactCount"] = len(acct.mailing_list_contacts.get(mlid, []))
        mailing_list["lastModifiedDate"] = iso(stamp)
    return result


def _delete_contacts(
    acct: Account, did: str, spec: dict[str, Any], stamp: datetime, rng: random.Random
) -> list[str]:
    contacts = acct.contacts.get(did, [])
    gone = list(spec.get("delete_contact_ids") or [])
    n = int(spec.get("delete_contacts") or 0)
    if n:
        pool = [c["contactId"] for c in contacts if c["contactId"] not in gone]
        gone += rng.sample(pool, min(n, len(pool)))
    drop = set(gone)
    acct.contacts[did] = [c for c in contacts if c["contactId"] not in drop]
    for cid in gone:
        acct.contact_details.pop(cid, None)
    for mailing_list in acct.mailing_lists.get(did, []):
        mlid = mailing_list["mailingListId"]
        members = acct.mailing_list_contacts.get(mlid, [])
        kept = [m for m in members if m["contactId"] not in drop]
        if len(kept) != len(members):
            acct.mailing_list_contacts[mlid] = kept
            mailing_list["contactCount"] = len(kept)
            mailing_list["lastModifiedDate"] = iso(stamp)
    acct.deleted_contacts.setdefault(did, []).extend(gone)
    return gone


def mutate_distributions(
    acct: Account, survey: Survey, spec: dict[str, Any], stamp: datetime, rng: random.Random
) -> dict[str, list[str]]:
    """``add_distributions`` / ``edit_distributions`` of a survey mutation.

    An added distribution is an invite to a mailing list of the first directory, sent at the stamp,
    with one history row per member; an edit stamps ``modifiedDate`` and marks some recipients as
    having opened the message (history and stats change with it).
    """
    dists = acct.distributions.setdefault(survey.id, [])
    result: dict[str, list[str]] = {"added_distributions": [], "edited_distributions": []}
    for dist in rng.sample(dists, min(int(spec.get("edit_distributions") or 0), len(dists))):
        dist["modifiedDate"] = iso(stamp)
        rows = acct.distribution_history.get(dist["id"], [])
        waiting = [row for row in rows if row["status"] == "Success"]
        for row in (
            rng.sample(waiting, min(len(waiting), max(1, len(waiting) // 3))) if waiting else []
        ):
            row["status"] = "Opened"
            row["openedAt"] = iso_ms(stamp)
        dist["stats"] = _stats(rows)
        result["edited_distributions"].append(dist["id"])
    n_add = int(spec.get("add_distributions") or 0)
    if n_add:
        directory = acct.directories[0]["directoryId"]
        lists = acct.mailing_lists.get(directory) or []
        if not lists:
            raise KeyError("no mailing list to distribute to")
        owner = acct.users[0]
        for _ in range(n_add):
            dist_id = acct.ids("EMD") if acct.ids else f"EMD_{rng.getrandbits(60):015x}"
            mailing_list = rng.choice(lists)
            rows = []
            for member in acct.mailing_list_contacts.get(mailing_list["mailingListId"], []):
                opened = rng.random() < OPENED_SHARE
                rows.append(
                    {
                        "contactId": member["contactId"],
                        "contactLookupId": member["contactLookupId"],
                        "distributionId": dist_id,
                        "status": "Opened" if opened else "Success",
                        "surveyLink": f"https://{acct.brand_id}.{acct.datacenter}.qualtrics.com/jfe/form/"
                        f"{survey.id}?Q_CHL=email&Q_DL={dist_id}_{survey.id[3:]}_{member['contactLookupId']}",
                        "contactFrequencyRuleId": None,
                        "responseId": None,
                        "responseCompletedAt": None,
                        "sentAt": iso_ms(stamp),
                        "openedAt": iso_ms(stamp) if opened else None,
                        "responseStartedAt": None,
                        "surveySessionId": None,
                    }
                )
            acct.distribution_history[dist_id] = rows
            dists.append(
                {
                    "id": dist_id,
                    "parentDistributionId": None,
                    "ownerId": survey.owner_id,
                    "organizationId": acct.organization_id,
                    "requestStatus": "Done",
                    "requestType": "Invite",
                    "sendDate": iso(stamp),
                    "createdDate": iso(stamp),
                    "modifiedDate": iso(stamp),
                    "headers": {
                        "fromEmail": "noreply@qemailserver.com",
                        "replyToEmail": owner["email"],
                        "fromName": "Sandbox Research",
                        "subject": survey.name,
                    },
                    "recipients": {
                        "mailingListId": mailing_list["mailingListId"],
                        "contactId": None,
                        "libraryId": owner["id"],
                        "sampleId": None,
                    },
                    "message": {
                        "libraryId": owner["id"],
                        "messageId": acct.ids("MS")
                        if acct.ids
                        else f"MS_{rng.getrandbits(60):015x}",
                        "messageType": "Invite",
                    },
                    "surveyLink": {
                        "surveyId": survey.id,
                        "expirationDate": iso(stamp + timedelta(days=60)),
                        "linkType": "Individual",
                    },
                    "embeddedData": None,
                    "stats": _stats(rows),
                }
            )
            result["added_distributions"].append(dist_id)
    return result


def _stats(rows: list[dict[str, Any]]) -> dict[str, int]:
    stats = dict.fromkeys(DISTRIBUTION_STATS, 0)
    for row in rows:
        stats["sent"] += 1
        status = row["status"]
        if status == "Bounced":
            stats["bounced"] += 1
        if row.get("openedAt"):
            stats["opened"] += 1
        if row.get("responseStartedAt"):
            stats["started"] += 1
        if row.get("responseCompletedAt"):
            stats["finished"] += 1
    return stats
