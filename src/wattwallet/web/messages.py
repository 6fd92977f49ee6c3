"""The portal's words for the service errors a consumer can meet (by the error's stable code)."""

from __future__ import annotations

from typing import Final

from wattwallet.web.i18n import N_

_PHONE = N_("Enter an Indian mobile number: 10 digits starting with 6, 7, 8 or 9 (with or without +91).")
_AMOUNT = N_("Enter the amount in whole rupees, for example 500.")

KNOWN: Final[dict[str, str]] = {
    "service_number_invalid": N_(
        "That is not a customer ID. It is the service number on your bill, in digits."
    ),
    "otp_invalid": N_(
        "That OTP is wrong, has expired or was used already. Ask for a new one if you need to."
    ),
    "otp_rate_limited": N_("Too many OTPs were asked for. Please wait and try again later."),
    "otp_guesses_rate_limited": N_("Too many wrong OTPs. Please try again later."),
    "phone_malformed": _PHONE,
    "phone_not_indian": _PHONE,
    "phone_not_mobile": _PHONE,
    "mobile_unchanged": N_("That is the registered number already."),
    "first_recharge_below_minimum": N_("The first recharge must be at least %(minimum)s."),
    "below_minimum": N_("A recharge must be at least %(minimum)s."),
    "not_multiple_of_100": N_("A recharge must be a multiple of ₹100, for example %(minimum)s."),
    "connection_terminated": N_("This connection is terminated and cannot be recharged."),
    "connection_not_prepaid": N_("This connection is postpaid: pay its bill instead of recharging."),
    "amount_not_numeric": _AMOUNT,
    "amount_too_many_decimals": _AMOUNT,
    "amount_not_positive": _AMOUNT,
    "amount_too_large": _AMOUNT,
    "payment_intents_rate_limited": N_(
        "Too many payments were started. Please wait a few minutes and try again."
    ),
    "complaint_not_allowed": N_("The connection is terminated: there is no supply to restore."),
    "complaint_note_invalid": N_("A note is at most 500 characters."),
    "channel_mandatory": N_("SMS to the registered mobile cannot be turned off."),
    # Switching between prepaid and postpaid (the Billing mode page).
    "mode_unchanged": N_("This connection already has that billing mode."),
    "billing_mode_invalid": N_("Choose prepaid or postpaid."),
    "mode_switch_date_past": N_(
        "Choose a day after today: a switch starts at the beginning of a day, from tomorrow at the earliest."
    ),
    "mode_switch_pending": N_("A switch is already booked. Withdraw it first if you want another."),
    "mode_switch_consumption_held": N_(
        "Some of your consumption is being checked by our staff. You can switch once that is settled; "
        "call 1912 to know more."
    ),
    "mode_switch_not_found": N_("There is no switch still to come to withdraw."),
}
