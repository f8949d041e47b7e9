"""Forms of the audit blueprint (CSV import upload)."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from erp.i18n import _l


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired("Choose a CSV file.")],
                     description=_l("UTF-8, comma separated, with a header line."))
