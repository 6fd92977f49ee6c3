"""The words of the bill PDFs (prepaid statement and postpaid bill) in English and Telugu (figures are
formatted by notify.formatting)."""

from __future__ import annotations

import re
from typing import Final

from wattwallet.messaging import formatting

LABELS: Final[dict[str, dict[str, str]]] = {
    "title": {"en": "Monthly e-bill (prepaid)", "te": "నెలవారీ ఇ-బిల్లు (ప్రీపెయిడ్)"},
    "discom_note": {
        "en": "Smart prepaid meter statement: no paper bill is sent.",
        "te": "స్మార్ట్ ప్రీపెయిడ్ మీటర్ వివరణ: కాగితపు బిల్లు పంపబడదు.",
    },
    "bill_no": {"en": "Bill no.", "te": "బిల్లు నం."},
    "issue_date": {"en": "Issued on", "te": "జారీ తేదీ"},
    "period": {"en": "Period", "te": "కాలం"},
    "service_no": {"en": "Service no.", "te": "సర్వీస్ నం."},
    "consumer": {"en": "Consumer", "te": "వినియోగదారు"},
    "category": {"en": "Category", "te": "కేటగిరీ"},
    "load": {"en": "Sanctioned load", "te": "మంజూరైన లోడ్"},
    "meter": {"en": "Meter", "te": "మీటర్"},
    "revision": {
        "en": "Corrected bill, revision {n}: replaces {old}",
        "te": "సవరించిన బిల్లు, సవరణ {n}: {old} స్థానంలో",
    },
    "consumption": {"en": "Consumption", "te": "వినియోగం"},
    "opening_register": {"en": "Opening register", "te": "ప్రారంభ రీడింగ్"},
    "closing_register": {"en": "Closing register", "te": "ముగింపు రీడింగ్"},
    "units": {"en": "Units billed", "te": "బిల్ చేసిన యూనిట్లు"},
    "days_billed": {"en": "Days billed", "te": "బిల్ చేసిన రోజులు"},
    "catch_up": {
        "en": "{n} of them billed late (readings missing, then caught up)",
        "te": "వాటిలో {n} రోజులు ఆలస్యంగా (రీడింగ్‌లు ఆలస్యంగా అందాయి)",
    },
    "not_read": {"en": "no reading", "te": "రీడింగ్ లేదు"},
    "on": {"en": "on", "te": "తేదీ"},
    "wallet": {"en": "Your wallet this month", "te": "ఈ నెల మీ వాలెట్"},
    "opening_balance": {"en": "Opening balance", "te": "ప్రారంభ బ్యాలెన్స్"},
    "recharged": {"en": "Recharged", "te": "రీఛార్జ్ చేసినది"},
    "to_dues": {"en": "Of which to dues", "te": "అందులో బకాయిలకు"},
    "deducted": {"en": "Deducted", "te": "తగ్గింపులు"},
    "adjustments": {"en": "Adjustments", "te": "సర్దుబాట్లు"},
    "closing_balance": {"en": "Closing balance", "te": "ముగింపు బ్యాలెన్స్"},
    "recharges": {"en": "Recharges", "te": "రీఛార్జ్‌లు"},
    "date": {"en": "Date", "te": "తేదీ"},
    "channel": {"en": "Channel", "te": "మార్గం"},
    "amount": {"en": "Amount", "te": "మొత్తం"},
    "to_wallet": {"en": "To wallet", "te": "వాలెట్‌కు"},
    "dues_col": {"en": "To dues", "te": "బకాయిలకు"},
    "no_recharges": {"en": "No recharges this month.", "te": "ఈ నెల రీఛార్జ్‌లు లేవు."},
    "charges": {"en": "Deductions by component", "te": "ఛార్జీల వారీగా తగ్గింపులు"},
    "total": {"en": "Total deducted", "te": "మొత్తం తగ్గింపు"},
    "dues": {"en": "Dues (arrears)", "te": "బకాయిలు"},
    "dues_opening": {"en": "At the start of the month", "te": "నెల ప్రారంభంలో"},
    "dues_recovered": {"en": "Recovered from recharges", "te": "రీఛార్జ్‌ల నుండి వసూలు"},
    "dues_added": {"en": "Added", "te": "జోడించినవి"},
    "dues_left": {"en": "Dues left", "te": "మిగిలిన బకాయిలు"},
    "emergency": {"en": "Emergency credit used", "te": "వాడిన అత్యవసర క్రెడిట్"},
    "adc": {"en": "Average daily consumption", "te": "సగటు రోజువారీ వినియోగం"},
    "per_day": {"en": "a day", "te": "రోజుకు"},
    "days_left": {"en": "Days the closing balance lasts", "te": "ముగింపు బ్యాలెన్స్ సరిపోయే రోజులు"},
    "compare": {"en": "Compared", "te": "పోలిక"},
    "this_month": {"en": "This month", "te": "ఈ నెల"},
    "last_month": {"en": "Last month", "te": "గత నెల"},
    "last_year": {"en": "Same month last year", "te": "గత ఏడాది ఇదే నెల"},
    "chart": {"en": "Units per day", "te": "రోజువారీ యూనిట్లు"},
    "chart_note": {"en": "Hatched bars: billed late (catch-up).", "te": "గీతల బార్లు: ఆలస్యంగా బిల్ చేసిన రోజులు."},
    "open_short_bills": {"en": "Open short bills", "te": "చెల్లించని షార్ట్ బిల్లులు"},
    "raised_on": {"en": "Raised on", "te": "జారీ"},
    "deduction_on": {"en": "Deducted on", "te": "తగ్గించే తేదీ"},
    "reason": {"en": "Reason", "te": "కారణం"},
    "held": {"en": "Consumption held for review", "te": "సమీక్షలో ఉన్న వినియోగం"},
    "held_note": {
        "en": "Not deducted until staff review it.",
        "te": "సిబ్బంది సమీక్షించే వరకు తగ్గించబడదు.",
    },
    "none": {"en": "None.", "te": "లేవు."},
    "how_to_recharge": {"en": "How to recharge", "te": "రీఛార్జ్ ఎలా చేయాలి"},
    "recharge_te": {
        "en": "",
        "te": "పోర్టల్ లేదా యాప్‌లో, రిటైల్ అవుట్‌లెట్ లేదా కియోస్క్‌లో, లేదా సేవా కేంద్రం కౌంటర్‌లో రీఛార్జ్ చేయండి.",
    },
    "helpline": {"en": "Helpline {number} (24 hours)", "te": "హెల్ప్‌లైన్ {number} (24 గంటలు)"},
    "grievance": {"en": "Complaints and grievances", "te": "ఫిర్యాదులు"},
    # Printed where the DISCOM has not set an address (WATTWALLET_BILLS__*_ADDRESS): never a guess.
    "address_from_helpline": {
        "en": "the address is given by the {number} helpline",
        "te": "చిరునామా కోసం {number} హెల్ప్‌లైన్‌కు కాల్ చేయండి",
    },
    "grievance_text": {
        "en": "Call the helpline first. If your complaint is not resolved, you may approach:",
        "te": "ముందుగా హెల్ప్‌లైన్‌కు కాల్ చేయండి. మీ ఫిర్యాదు పరిష్కారం కాకపోతే, సంప్రదించవచ్చు:",
    },
    "verification": {"en": "Verification code", "te": "ధృవీకరణ కోడ్"},
    "footer": {
        "en": "A statement of the month from the ledger and the meter readings. Content hash",
        "te": "లెడ్జర్ మరియు మీటర్ రీడింగ్‌ల నుండి తయారైన ఈ నెల వివరణ. కంటెంట్ హ్యాష్",
    },
    "units_short": {"en": "units", "te": "యూనిట్లు"},
    "kw": {"en": "kW", "te": "కి.వా."},
    # The postpaid bill.
    "pp_title": {"en": "Postpaid bill", "te": "పోస్ట్‌పెయిడ్ బిల్లు"},
    "pp_discom_note": {
        "en": "Smart meter, postpaid: no paper bill is sent.",
        "te": "స్మార్ట్ మీటర్, పోస్ట్‌పెయిడ్: కాగితపు బిల్లు పంపబడదు.",
    },
    "pp_payable": {"en": "Net payable", "te": "చెల్లించవలసిన మొత్తం"},
    "pp_due_on": {"en": "Pay by", "te": "చెల్లించవలసిన చివరి తేదీ"},
    "pp_nothing_to_pay": {
        "en": "Nothing to pay this month: your advance covered the bill.",
        "te": "ఈ నెల చెల్లించవలసినది ఏమీ లేదు: మీ అడ్వాన్స్ నుండి బిల్లు చెల్లించబడింది.",
    },
    "pp_account": {"en": "How the amount is made up", "te": "మొత్తం వివరాలు"},
    "pp_arrears": {"en": "Arrears (earlier bills not paid)", "te": "బకాయిలు (చెల్లించని గత బిల్లులు)"},
    "pp_charges_month": {"en": "Charges this month", "te": "ఈ నెల ఛార్జీలు"},
    "pp_advance_applied": {"en": "Advance set against this bill", "te": "ఈ బిల్లుకు జమ చేసిన అడ్వాన్స్"},
    "pp_paid_in_month": {"en": "Paid during the month", "te": "ఈ నెలలో చెల్లించినది"},
    "pp_advance_left": {"en": "Advance left for later bills", "te": "తదుపరి బిల్లులకు మిగిలిన అడ్వాన్స్"},
    "pp_deposit": {"en": "Security deposit held", "te": "మీ భద్రతా డిపాజిట్"},
    "pp_account_note": {
        "en": "Payments made during the month are already taken off the arrears. "
        "The security deposit is not set against monthly bills.",
        "te": "ఈ నెలలో చేసిన చెల్లింపులు బకాయిల నుండి ఇప్పటికే తీసివేయబడ్డాయి. భద్రతా డిపాజిట్‌ను నెలవారీ బిల్లులకు జమ చేయరు.",
    },
    "pp_billed": {"en": "Consumption billed", "te": "బిల్ చేసిన వినియోగం"},
    "pp_period": {"en": "Period billed", "te": "బిల్ చేసిన కాలం"},
    "pp_no_days": {"en": "no days this month", "te": "ఈ నెల రోజులు లేవు"},
    "pp_charges": {"en": "This month's charges by component", "te": "ఈ నెల ఛార్జీలు, అంశాల వారీగా"},
    "pp_charges_total": {"en": "Total charges this month", "te": "ఈ నెల మొత్తం ఛార్జీలు"},
    "pp_arrears_items": {"en": "Arrears, bill by bill", "te": "బకాయిలు, బిల్లుల వారీగా"},
    "pp_no_arrears": {"en": "No arrears.", "te": "బకాయిలు లేవు."},
    "pp_how_to_pay": {"en": "How to pay", "te": "ఎలా చెల్లించాలి"},
    "pay_te": {
        "en": "",
        "te": "సేవా కేంద్రం కౌంటర్‌లో చెల్లించండి. ₹1 నుండి ఏ మొత్తమైనా తీసుకుంటారు; ముందుగా పాత బిల్లుకు జమ అవుతుంది.",
    },
    "pp_footer": {
        "en": "A bill of the month from the meter readings, rated by the tariff in force. Content hash",
        "te": "మీటర్ రీడింగ్‌ల నుండి అమలులో ఉన్న టారిఫ్ ప్రకారం తయారైన ఈ నెల బిల్లు. కంటెంట్ హ్యాష్",
    },
}

# What an arrears line of a postpaid bill names (postpaid_items.label): a bill number, or what a
# switch from prepaid carried onto the first bill.
ARREARS: Final[dict[str, dict[str, str]]] = {
    "bill": {"en": "Bill of {month} ({ref})", "te": "{month} బిల్లు ({ref})"},
    "carried from prepaid wallet": {
        "en": "Emergency credit used on the prepaid wallet",
        "te": "ప్రీపెయిడ్ వాలెట్‌లో వాడిన అత్యవసర క్రెడిట్",
    },
    "dues carried from prepaid": {"en": "Dues carried from prepaid", "te": "ప్రీపెయిడ్ నుండి వచ్చిన బకాయిలు"},
    "short bill": {"en": "Short bill {ref}", "te": "షార్ట్ బిల్లు {ref}"},
}


_BILL_NO = re.compile(r"^(?:PB|BL)(\d\d)(\d\d)-")


def arrears_item(label: str, language: str) -> str:
    """PB2506-1234567890123 -> Bill of Jun 2025 (PB2506-...); short bill SB-1 -> Short bill SB-1;
    what a switch carried in the consumer's words; anything else as it is."""
    if label in ARREARS:
        return ARREARS[label][language]
    bill = _BILL_NO.match(label)
    if bill and 1 <= int(bill[2]) <= 12:
        month = f"{formatting.MONTHS[language][int(bill[2]) - 1]} {2000 + int(bill[1])}"
        return ARREARS["bill"][language].format(month=month, ref=label)
    if label.startswith("short bill "):
        return ARREARS["short bill"][language].format(ref=label.removeprefix("short bill "))
    return label


COMPONENTS: Final[dict[str, dict[str, str]]] = {
    "energy": {"en": "Energy charge", "te": "ఎనర్జీ ఛార్జీ"},
    "fixed_charge": {"en": "Fixed charge", "te": "స్థిర ఛార్జీ"},
    "demand_charge": {"en": "Demand charge", "te": "డిమాండ్ ఛార్జీ"},
    "customer_charge": {"en": "Customer charge", "te": "కస్టమర్ ఛార్జీ"},
    "electricity_duty": {"en": "Electricity duty", "te": "విద్యుత్ సుంకం"},
    "levy": {"en": "Levy", "te": "లెవీ"},
    "tod": {"en": "Time-of-Day", "te": "సమయ ఆధారిత ఛార్జీ"},
    "short_bill": {"en": "Short-bill deductions", "te": "షార్ట్ బిల్లు తగ్గింపులు"},
    "held_consumption_released": {
        "en": "Held consumption released after review",
        "te": "సమీక్ష తర్వాత విడుదలైన వినియోగం",
    },
    "repricing": {"en": "repricing", "te": "పునః ధర"},
    "units": {"en": "units", "te": "యూనిట్లు"},
    "minor": {"en": "minor group", "te": "మైనర్ గ్రూప్"},
    "major": {"en": "major group", "te": "మేజర్ గ్రూప్"},
}

CHANNELS: Final[dict[str, dict[str, str]]] = {
    "portal": {"en": "Portal", "te": "పోర్టల్"},
    "app": {"en": "App", "te": "యాప్"},
    "retail": {"en": "Retail outlet", "te": "రిటైల్ అవుట్‌లెట్"},
    "kiosk": {"en": "Kiosk", "te": "కియోస్క్"},
    "counter": {"en": "Service centre", "te": "సేవా కేంద్రం"},
}


def component_name(component: str, language: str) -> str:
    """energy:0-30 -> Energy charge, units 0-30; levy:FPPCA-2025-26 -> Levy FPPCA-2025-26."""
    parts = component.split(":")
    head, rest = parts[0], parts[1:]
    repricing = bool(rest) and rest[-1] == "repricing"
    if repricing:
        rest = rest[:-1]
    words = [COMPONENTS.get(head, {}).get(language, head)]
    if head == "energy":
        for part in rest:
            if part in ("minor", "major"):
                words.append(COMPONENTS[part][language])
            else:
                words.append(f"{COMPONENTS['units'][language]} {part.replace('-', '–')}")
    elif rest:
        words.append(":".join(rest))
    text = ", ".join(words) if head == "energy" else " ".join(words)
    return f"{text} ({COMPONENTS['repricing'][language]})" if repricing else text


ADJUSTMENTS: Final[dict[str, dict[str, str]]] = {
    "wallet.opening": {"en": "Balance brought over", "te": "తీసుకువచ్చిన బ్యాలెన్స్"},
    "termination.settlement": {"en": "Final settlement", "te": "తుది సెటిల్‌మెంట్"},
}
