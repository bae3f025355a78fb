"""Writes of master data: customers, suppliers and articles (create, replace, delete).

Duplicate CustomerNumber / SupplierNumber / article Number is 409 ErrorCode 4000; a customer or supplier
that has invoices can not be deleted (400 ErrorCode 4001).
"""

from __future__ import annotations

from typing import Any

from eaccounting_sandbox.error_responses import ApiError
from eaccounting_sandbox.store import Company, Record
from eaccounting_sandbox.validation import validate_body
from eaccounting_sandbox.write_support import (
    Handler,
    compose,
    new_id,
    path_param,
    reference,
    require,
    stamp_fields,
    unique_number,
)

CAN_NOT_BE_DELETED = 4001


def _customer(company: Company, values: dict[str, Any], old: Record | None) -> Record:
    terms = reference(company, "termsofpayments", values.get("TermsOfPaymentId"), "TermsOfPaymentId")
    # A PUT without CustomerNumber keeps the number: it is the natural key integrations match on.
    given = values.get("CustomerNumber") or (old["CustomerNumber"] if old else None)
    number = unique_number(
        company, "customers", "CustomerNumber", given, exclude=old["Id"] if old else None, start=10000
    )
    record = compose(
        "CustomerApi",
        values,
        {"Id": old["Id"] if old else new_id(), "CustomerNumber": number, "TermsOfPayment": dict(terms)},
    )
    stamp_fields(company, record, created=old is None)
    return record


def _supplier(company: Company, values: dict[str, Any], old: Record | None) -> Record:
    reference(company, "termsofpayments", values.get("TermsOfPaymentId"), "TermsOfPaymentId")
    given = values.get("SupplierNumber") or (old["SupplierNumber"] if old else None)
    number = unique_number(
        company, "suppliers", "SupplierNumber", given, exclude=old["Id"] if old else None, start=20000
    )
    record = compose(
        "SupplierApi",
        values,
        {
            "Id": old["Id"] if old else new_id(),
            "SupplierNumber": number,
            "CreatedUtc": old["CreatedUtc"] if old else None,
        },
    )
    stamp_fields(company, record, created=old is None)
    return record


def _article(company: Company, values: dict[str, Any], old: Record | None) -> Record:
    coding = reference(company, "articleaccountcodings", values.get("CodingId"), "CodingId")
    unit = reference(company, "units", values.get("UnitId"), "UnitId")
    number = unique_number(
        company, "articles", "Number", values.get("Number"), exclude=old["Id"] if old else None, start=1
    )
    record = compose(
        "ArticleApi",
        values,
        {
            "Id": old["Id"] if old else new_id(),
            "Number": number,
            "CodingName": coding["Name"],
            "UnitName": unit["Name"],
            "UnitAbbreviation": unit["Abbreviation"],
            "CreatedUtc": old["CreatedUtc"] if old else None,
            "IsServiceArticle": not values.get("IsStock", False),
        },
    )
    stamp_fields(company, record, created=old is None)
    return record


MASTER = {
    "customers": ("CustomerApi", _customer, "Customer"),
    "suppliers": ("SupplierApi", _supplier, "Supplier"),
    "articles": ("ArticleApi", _article, "Article"),
}


def _master_create(collection: str) -> Handler:
    schema, build_record, _ = MASTER[collection]

    def handler(company: Company, _p: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
        record = build_record(company, validate_body(schema, body), None)
        return 201, company.collection(collection).add(record)

    return handler


def _master_replace(collection: str, param: str) -> Handler:
    schema, build_record, what = MASTER[collection]

    def handler(company: Company, params: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
        old = require(company, collection, path_param(params, param), what)
        record = build_record(company, validate_body(schema, body), old)
        return 200, company.collection(collection).replace(old, record)

    return handler


def _master_delete(collection: str, param: str, used_by: tuple[str, str]) -> Handler:
    _, _, what = MASTER[collection]

    def handler(company: Company, params: dict[str, str], _q: dict[str, str], _b: Any) -> tuple[int, Any]:
        old = require(company, collection, path_param(params, param), what)
        documents, field = used_by
        if any(doc.get(field) == old["Id"] for doc in company.collection(documents).items):
            raise ApiError(
                400, CAN_NOT_BE_DELETED, f"{what} {old['Id']} has {documents} and can not be deleted.", []
            )
        company.collection(collection).remove_ids({old["Id"]})
        return 200, None  # the spec documents 200 (no body) for deletes

    return handler


MASTER_HANDLERS: dict[tuple[str, str], Handler] = {
    ("POST", "/customers"): _master_create("customers"),
    ("PUT", "/customers/{customerId}"): _master_replace("customers", "customerId"),
    ("DELETE", "/customers/{customerId}"): _master_delete(
        "customers", "customerId", ("customerinvoices", "CustomerId")
    ),
    ("POST", "/suppliers"): _master_create("suppliers"),
    ("PUT", "/suppliers/{id}"): _master_replace("suppliers", "id"),
    ("DELETE", "/suppliers/{id}"): _master_delete("suppliers", "id", ("supplierinvoices", "SupplierId")),
    ("POST", "/articles"): _master_create("articles"),
    ("PUT", "/articles/{articleId}"): _master_replace("articles", "articleId"),
}
