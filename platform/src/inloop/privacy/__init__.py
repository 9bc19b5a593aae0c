"""Privacy controls: the deletion register and forgetting a person in every store (ML Test Score data-5).

``inloop forget DOMAIN SUBJECT_ID --reason ...`` and ``POST /subjects/{domain}/{id}/erasure`` call
:func:`forget`; each domain names its stores in its plugin (``DomainPlugin(subject_eraser=...)``)
(a :class:`SubjectEraser`); training pipelines prove the person is gone with
:func:`inloop.privacy.checks.erased_subjects_check` and leave them out with :func:`drop_erased`.
See docs/privacy.md.
"""

from inloop.privacy.erasure import (
    ErasureError,
    ErasureReceipt,
    StoreReceipt,
    SubjectEraser,
    drop_erased,
    erased_count,
    find_erased,
    forget,
    locate,
    subject_key,
)

__all__ = ["ErasureError", "ErasureReceipt", "StoreReceipt", "SubjectEraser", "drop_erased", "erased_count",
           "find_erased", "forget", "locate", "subject_key"]
