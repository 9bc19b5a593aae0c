"""Who the credit domain can forget, and where it keeps them (the ``subject_eraser`` hook).

The subject is a loan applicant, identified by the ``application_id`` the front end sends: the
domain knows no person beyond their application (a fork with a customer id keys on that
instead). The application id is the prediction log's ``subject_id`` and the key column of the
live inbox batches, the core-banking outcome ledger and the pipeline outputs (history, training
sets, live decisions); the platform's :class:`~inloop.privacy.SubjectEraser` covers all of them.
The trained model keeps no rows (LightGBM trees, aggregate training statistics in MLflow): a
forgotten applicant's influence leaves it at the next training run, which the register check
proves to be without them.
"""

from __future__ import annotations

import re

from inloop.privacy import SubjectEraser

__all__ = ["CreditApplicants", "eraser"]


class CreditApplicants(SubjectEraser):
    subject = "loan applicant (application id)"
    key_columns = ("application_id",)
    #: the API's rule for application ids
    id_pattern = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


eraser = CreditApplicants("credit")
