"""Forms of the money area: tax codes, payment terms, invoices."""
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from erp.forms import choices, number_field, text_validators, whole_number
from erp.i18n import N_, _l
from erp.models.fields import TAX_RATE
from erp.models.invoices import PAYMENT_METHODS
from erp.models.money import MAX_TERM_DAYS, PAYMENT_TERMS_TEXT, TAX_CODE_TEXT, TERMS_KINDS


class TaxCodeForm(FlaskForm):
    name = StringField(_l("Name"), validators=text_validators(TAX_CODE_TEXT["name"]),
                       description=_l("e.g. KDV 20"))
    rate = number_field(_l("Rate %"), TAX_RATE, required=N_("Enter the rate."))


class PaymentTermsForm(FlaskForm):
    name = StringField(_l("Name"), validators=text_validators(PAYMENT_TERMS_TEXT["name"]),
                       description=_l("e.g. Net 30"))
    kind = SelectField(_l("Kind"), choices=choices(TERMS_KINDS.items()), default="net")
    days = IntegerField(_l("Days"), default=30, validators=[
        Optional(), whole_number, NumberRange(min=0, max=MAX_TERM_DAYS,
                                message=_l('Enter whole days from 0 to %(MAX_TERM_DAYS)s.', MAX_TERM_DAYS=MAX_TERM_DAYS))],
        description=_l("Not used when due on receipt."))


class InvoiceForm(FlaskForm):
    """A direct invoice's header: its customer (a picker) and notes."""

    customer = StringField(_l("Customer"), validators=[DataRequired(_l("Choose a customer.")),
                                                   Length(max=250)],
                           description=_l("Type a name and pick from the list."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class CreditNoteForm(FlaskForm):
    """A credit note's reason; its quantities are `qty-<invoice line id>` inputs."""

    reason = TextAreaField(_l("Reason"), validators=[Optional(), Length(max=2000)],
                           description=_l("e.g. goods returned, price agreed lower."))


class PaymentFields(FlaskForm):
    """A payment's header without its party; its allocations are `alloc-<id>` inputs."""

    payment_date = DateField(_l("Date"), validators=[DataRequired(_l("Enter a date."))])
    amount = StringField(_l("Amount"), validators=[DataRequired(_l("Enter an amount.")),
                                               Length(max=40)])
    method = SelectField(_l("Method"), choices=choices(PAYMENT_METHODS.items()),
                         default="bank_transfer")
    reference = StringField(_l("Reference"), validators=[Optional(), Length(max=100)],
                            description=_l("e.g. the bank's transaction id."))


class PaymentForm(PaymentFields):
    """A customer payment's header."""

    customer = StringField(_l("Customer"), validators=[DataRequired(_l("Choose a customer.")),
                                                   Length(max=250)])


class SupplierPaymentForm(PaymentFields):
    """A supplier payment's header."""

    supplier = StringField(_l("Supplier"), validators=[DataRequired(_l("Choose a supplier.")),
                                                       Length(max=250)])


class BillForm(FlaskForm):
    """A direct bill's header: its supplier (a picker), the supplier's own number, notes."""

    supplier = StringField(_l("Supplier"), validators=[DataRequired(_l("Choose a supplier.")),
                                                       Length(max=250)],
                           description=_l("Type a name and pick from the list."))
    supplier_reference = StringField(_l("Supplier's number"),
                                     validators=[Optional(), Length(max=60)],
                                     description=_l("The number on the supplier's invoice."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=2000)])


class AllocateForm(FlaskForm):
    """Allocating a payment's rest: only `alloc-<invoice id>` inputs."""
