// The API's shapes, named once for the app (aliases into the OpenAPI-generated types).
import type { components } from "./schema";

type S = components["schemas"];
export type Session = S["Session"];
export type Money = S["Money"];
export type OrderSummary = S["OrderSummary"];
export type OrderPage = S["OrderPage"];
export type OrderDetail = S["OrderDetail"];
export type Supplier = S["Supplier"];
export type Store = S["Store"];
export type Quote = S["Quote"];
export type Payment = S["Payment"];
export type Fx = S["Fx"];
export type CheckoutConfig = S["CheckoutConfig"];
export type ApiErrorBody = S["Error"];
