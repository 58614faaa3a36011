/**
 * Hand-written stand-in for the types openapi-typescript generates from the gateway's OpenAPI
 * schema (`make openapi` overwrites this file once `python -m gateway.openapi` exists).
 * It follows the documented contract and openapi-typescript's layout, so the client code does not
 * change when the generated file replaces it.
 */
/* eslint-disable */
type Json<T> = { content: { "application/json": T } };
type Err = Json<components["schemas"]["Error"]>;

export interface paths {
  "/api/v1/session": {
    get: { responses: { 200: Json<components["schemas"]["Session"]>; 401: Err } };
    post: {
      requestBody: Json<components["schemas"]["SessionIn"]>;
      responses: { 200: Json<components["schemas"]["Session"]>; 401: Err; 429: Err };
    };
    delete: { responses: { 204: { content: never } } };
  };
  "/api/v1/orders": {
    get: {
      parameters: {
        query?: {
          supplier_id?: string; status?: string; store_id?: string; created_from?: string;
          created_to?: string; q?: string; limit?: number; offset?: number;
        };
      };
      responses: { 200: Json<components["schemas"]["OrderPage"]>; 401: Err; 422: Err };
    };
  };
  "/api/v1/orders/{order_id}": {
    get: {
      parameters: { path: { order_id: string } };
      responses: { 200: Json<components["schemas"]["OrderDetail"]>; 404: Err };
    };
  };
  "/api/v1/orders/{order_id}/tracking": {
    post: {
      parameters: { path: { order_id: string } };
      requestBody: Json<components["schemas"]["TrackingIn"]>;
      responses: { 201: Json<components["schemas"]["TrackingAdded"]>; 409: Err; 422: Err };
    };
  };
  "/api/v1/suppliers": {
    get: { responses: { 200: Json<{ suppliers: components["schemas"]["Supplier"][] }> } };
  };
  "/api/v1/stores": {
    get: { responses: { 200: Json<{ stores: components["schemas"]["Store"][] }> } };
  };
  "/api/v1/carriers/detect": {
    get: {
      parameters: { query: { tracking_number: string } };
      responses: { 200: Json<components["schemas"]["CarrierDetected"]> };
    };
  };
  "/api/v1/checkout/quote": {
    post: {
      requestBody: Json<{ order_ids: string[] }>;
      responses: { 200: Json<components["schemas"]["Quote"]>; 409: Err; 422: Err };
    };
  };
  "/api/v1/checkout/config": {
    get: { responses: { 200: Json<components["schemas"]["CheckoutConfig"]> } };
  };
  "/api/v1/payments": {
    post: {
      parameters: { header: { "Idempotency-Key": string } };
      requestBody: Json<components["schemas"]["PayIn"]>;
      responses: {
        201: Json<components["schemas"]["Payment"]>;
        402: Json<components["schemas"]["Payment"]>;
        409: Err; 422: Err;
      };
    };
  };
  "/api/v1/payments/{payment_id}": {
    get: {
      parameters: { path: { payment_id: string } };
      responses: { 200: Json<components["schemas"]["Payment"]>; 404: Err };
    };
  };
}

export interface components {
  schemas: {
    Error: { error: string; message: string; details?: { [key: string]: unknown } };
    SessionIn: { email: string; password: string };
    Session: {
      user: { user_id: string; email: string };
      retailer: { retailer_id: string; name: string };
      csrf_token: string;
    };
    Money: { currency: string; product_cost: string; shipping: string; vat: string; total: string };
    StoreRef: { store_id: string; platform: string; shop: string };
    SupplierRef: {
      supplier_id: string; name: string; auto_order: boolean; website_url: string | null; currency: string;
    };
    Tracking: {
      tracking_id: string; tracking_number: string; carrier: string | null; tracking_url: string | null;
      source: string; synced: boolean;
    };
    OrderSummary: {
      order_id: string; order_number: string; status: string;
      store: components["schemas"]["StoreRef"] | null;
      platform_order_number: string | null;
      supplier: components["schemas"]["SupplierRef"] | null;
      customer_name: string | null; item_count: number; unmatched_line_count: number;
      cost: components["schemas"]["Money"] | null; usd_total: string | null; problem: string | null;
      supplier_order_id: string | null; tracking: components["schemas"]["Tracking"][];
      created_at: string; updated_at: string;
    };
    OrderPage: { total: number; limit: number; offset: number; orders: components["schemas"]["OrderSummary"][] };
    OrderLine: {
      line_id: string; sku: string | null; title: string | null; quantity: number;
      supplier_sku: string | null; unit_cost: string | null; matched: boolean;
    };
    Address: {
      name?: string | null; company?: string | null; address1?: string | null; address2?: string | null;
      city?: string | null; province?: string | null; zip?: string | null; country?: string | null;
      country_code?: string | null; phone?: string | null;
    };
    Fx: { from_currency: string; to_currency: string; rate: string; rate_date: string; source: string };
    OrderPayment: {
      payment_id: string; method: string; paid_at: string | null; supplier_currency: string;
      supplier_currency_amounts: { [key: string]: string }; usd_amounts: { [key: string]: string };
      fx: components["schemas"]["Fx"];
    };
    TimelineEntry: { at: string; event: string; status: string | null; summary: string };
    OrderDetail: components["schemas"]["OrderSummary"] & {
      lines: components["schemas"]["OrderLine"][];
      shipping_address: components["schemas"]["Address"] | null;
      customer: { name?: string | null; email?: string | null; phone?: string | null } | null;
      shipping_method: string | null;
      payment: components["schemas"]["OrderPayment"] | null;
      timeline: components["schemas"]["TimelineEntry"][];
      supplier_website_url: string | null;
      search_hints: { sku: string | null; title: string | null; quantity: number }[];
      can_add_tracking: boolean; frozen: boolean;
    };
    TrackingIn: { tracking_number: string; carrier?: string | null };
    TrackingAdded: { tracking_id: string; status: string; carrier: string | null; tracking_url: string | null };
    Supplier: {
      supplier_id: string; name: string; currency: string; auto_order: boolean; website_url: string | null;
      payment_methods: string[];
    };
    Store: { store_id: string; platform: string; shop: string };
    CarrierDetected: { carrier: string | null; tracking_url: string | null };
    QuoteOrder: {
      order_id: string; order_number: string;
      supplier_currency: components["schemas"]["Money"]; usd: components["schemas"]["Money"];
    };
    Quote: {
      supplier: { supplier_id: string; name: string; currency: string };
      payment_methods: string[];
      orders: components["schemas"]["QuoteOrder"][];
      total: { supplier_currency: components["schemas"]["Money"]; usd: components["schemas"]["Money"] };
      charge: { currency: string; amount: string; amount_minor: number };
      fx: components["schemas"]["Fx"];
    };
    CheckoutConfig: { stripe_publishable_key: string; stripe_js_url: string };
    PayIn: { order_ids: string[]; method: "card" | "paypal"; payment_method?: string | null };
    Payment: {
      payment_id: string; status: "processing" | "succeeded" | "failed"; method: string; order_ids: string[];
      supplier: { supplier_id: string; name: string; currency: string };
      orders: components["schemas"]["QuoteOrder"][];
      total: { supplier_currency: components["schemas"]["Money"]; usd: components["schemas"]["Money"] };
      charge: { currency: string; amount: string; amount_minor: number };
      fx: components["schemas"]["Fx"];
      provider: string; provider_reference: string | null; failure_reason: string | null;
      created_at: string; completed_at: string | null;
    };
  };
}
