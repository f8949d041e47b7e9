"""Forms of the audit blueprint (CSV import upload)."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired


class ImportForm(FlaskForm):
    file = FileField("CSV file", validators=[FileRequired("Choose a CSV file.")],
                     description="UTF-8, comma separated, with a header line.")
