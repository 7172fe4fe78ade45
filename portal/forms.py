"""Forms of the pages that read from several apps."""
from django import forms

from common.forms import AccessibleForm


class ForecastForm(AccessibleForm):
    """The job page's "what if": more contractors, or more annotators per photo."""

    extra_contractors = forms.IntegerField(min_value=0, max_value=1000, initial=0, required=False,
                                           label="More contractors", help_text="Added at the job's whole weekly cap.")
    annotators_per_photo = forms.IntegerField(min_value=1, max_value=5, initial=1, required=False,
                                              label="Annotators per photo")
