"""What a message may carry besides its text (a place, a contact card, a cart, the product
or ad it is about), and the Telegram Business account a batch is answered for. Part of
the wire contract (:mod:`shared.models` re-exports them)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Location(BaseModel):
    latitude: float
    longitude: float
    name: str | None = Field(default=None, description="A place's name (WhatsApp)")
    address: str | None = Field(default=None, description="A place's address (WhatsApp)")


class Contact(BaseModel):
    phone_number: str
    first_name: str
    last_name: str | None = None
    user_id: int | None = None


class OrderItem(BaseModel):
    product_id: str = Field(description="The catalog's product (retailer) id")
    quantity: int
    item_price: float | None = None
    currency: str | None = None


class Order(BaseModel):
    """A cart the person sent from the business's catalog (WhatsApp)."""

    catalog_id: str
    items: list[OrderItem]


class ProductRef(BaseModel):
    """The catalog item a message is about (WhatsApp: the person asked about a product)."""

    catalog_id: str
    product_id: str = Field(description="The catalog's product (retailer) id")


class Referral(BaseModel):
    """The ad or post the person came from (WhatsApp's click-to-WhatsApp ads)."""

    source_type: str | None = Field(default=None, description="ad or post")
    source_id: str | None = None
    source_url: str | None = None
    headline: str | None = None
    body: str | None = None
    ctwa_clid: str | None = Field(default=None, description="The ad click's id")


class BusinessOwner(BaseModel):
    id: int = Field(description="The business account's Telegram user id")
    first_name: str


class Business(BaseModel):
    """Telegram Business: the chat is a customer's with a business account the bot is
    connected to; the answer goes out as sent by that account."""

    connection_id: str
    owner: BusinessOwner
