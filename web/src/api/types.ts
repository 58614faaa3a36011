// The API's shapes, named once for the app: aliases into the types generated from the gateway's
// OpenAPI schema (schema.d.ts, `make openapi`).
import type { components } from "./schema";

type S = components["schemas"];
export type Session = S["SessionOut"];
export type Money = S["Money"];
export type OrderSummary = S["OrderSummary"];
export type OrderPage = S["OrderPage"];
export type OrderDetail = S["OrderDetail"];
export type Supplier = S["SupplierOut"];
export type Store = S["StoreRef"];
export type Quote = S["QuoteOut"];
export type Payment = S["PaymentOut"];
export type PaymentRefund = S["PaymentRefundOut"];
export type OrderRefund = S["OrderRefundOut"];
export type Fx = S["FxOut"];
export type CheckoutConfig = S["CheckoutConfig"];
export type ApiErrorBody = S["ErrorBody"];
export type PaymentMethod = S["PaymentMethod"];
