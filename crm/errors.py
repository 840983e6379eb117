"""Errors of the customer data layer. Messages are written for the person who caused them."""


class CrmError(Exception):
    """Root of the data layer's errors."""


class InvalidPhoneNumber(CrmError):
    """A phone number that cannot be parsed or is not a possible number."""


class NotFound(CrmError):
    """A customer, account or other record that does not exist."""


class DatabaseUnavailable(CrmError):
    """The database cannot be reached or refused the connection."""


class InvalidData(CrmError):
    """A value that breaks a rule of the data model."""
