// Written by `make api-docs` from docs/openapi.yaml; do not edit.
window.CHECKOUT_EDGE_OPENAPI = {
 "openapi": "3.1.0",
 "info": {
  "title": "checkout-edge storefront API",
  "version": "2",
  "summary": "Carts, inventory validation, checkout and order status for the shops on checkout-edge.",
  "description": "The API a shop's storefront calls, as it sees it **through the gateway** (the front door\nadds `x-front-door-token`, `cf-connecting-ip` and, from the host name, `x-shop-id`).\nThe behaviour behind every operation is explained in `docs/api.md`; the section named in\neach description (e.g. \"docs/api.md §3.3\") is the full rule. This file is the source of\ntruth for the wire format: the test suite checks every response it observes against it\nand fuzzes the running services with schemathesis.\n\n**Conventions.** Money is an integer count of the currency's minor units (cents). JSON\nkeys are camelCase. Request bodies are strict: unknown fields are refused and types are\nnot coerced (`2.0`, `\"2\"` and `true` are not quantities); strings must be valid UTF-8\nwithout control characters. Any such violation is 400 `INVALID_REQUEST` naming the field. Every error, from any component, has the body\n`{\"error\": {\"code\", \"message\", \"requestId\"}}` (some codes add top-level keys, documented\nwith the code). Every response carries `x-request-id` (the caller's when it is 1–128 safe\ncharacters, else a new one).\n\n**The gateway's checks, in order** (docs/api.md §2): front-door token (401\n`FRONT_DOOR_UNAUTHORIZED`) → route allowlist (an unknown path is 404 `ROUTE_NOT_FOUND`,\nanother method on a known path 405 `METHOD_NOT_ALLOWED` with `Allow`; see the component\nresponses `RouteNotFound` and `MethodNotAllowed`) → `x-shop-id` (400) → body size (413) →\nrate limit (429) → forward to the origin (502/504 when it fails). A CORS preflight is\nanswered by the gateway (component responses `CorsPreflight`, `CorsOriginNotAllowed`).\nA request head larger than `GATEWAY_MAX_HEADER_BYTES` or with more than 100 fields is\n431 `REQUEST_HEADERS_TOO_LARGE`.\n\n**Rate limits** (docs/api.md §2): a sliding window per route class, shop and client IP\n(the webhook per client IP), plus one per-IP ceiling across all classes. Responses of a\nlimited route that passed the limiter carry `RateLimit-Policy` and `RateLimit`\n(IETF httpapi-ratelimit-headers); a refusal is 429 `RATE_LIMITED` with `Retry-After`.\n",
  "license": {
   "name": "Proprietary",
   "identifier": "LicenseRef-Proprietary"
  }
 },
 "servers": [
  {
   "url": "http://127.0.0.1:8000",
   "description": "the gateway of `make run`"
  }
 ],
 "tags": [
  {
   "name": "cart",
   "description": "The shopper's cart (docs/api.md §3.1)."
  },
  {
   "name": "inventory",
   "description": "Stock validation before checkout (docs/api.md §3.2)."
  },
  {
   "name": "checkout",
   "description": "Repricing, the inventory hold and the Stripe Checkout Session (docs/api.md §3.3)."
  },
  {
   "name": "orders",
   "description": "What the thank-you page polls (docs/api.md §3.5)."
  },
  {
   "name": "stripe",
   "description": "Stripe's webhook deliveries (docs/api.md §3.4). Called by Stripe, not by storefronts."
  },
  {
   "name": "operations",
   "description": "The gateway's own probes and metrics (docs/api.md §2, §4); never forwarded."
  }
 ],
 "security": [
  {
   "frontDoor": []
  }
 ],
 "paths": {
  "/api/cart": {
   "parameters": [
    {
     "$ref": "#/components/parameters/ShopId"
    },
    {
     "$ref": "#/components/parameters/CartIdHeader"
    },
    {
     "$ref": "#/components/parameters/CartCookie"
    },
    {
     "$ref": "#/components/parameters/RequestIdIn"
    }
   ],
   "get": {
    "tags": [
     "cart"
    ],
    "operationId": "getCart",
    "summary": "The cart, priced from the catalog now",
    "description": "Without any cart id (no `x-cart-id`, no `cart_id` cookie) the answer is an empty cart\nwith `cartId: null` and nothing is created. A cart id that is unknown, another shop's\nor expired is 404 `CART_NOT_FOUND`. The header and the cookie naming different carts\nis 400 `CART_ID_CONFLICT`. docs/api.md §3.1.\n",
    "responses": {
     "200": {
      "$ref": "#/components/responses/CartAnswer"
     },
     "400": {
      "$ref": "#/components/responses/CartBadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "404": {
      "description": "The cart does not exist (or the shop does not).",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CartNotFoundError"
        },
        "example": {
         "error": {
          "code": "CART_NOT_FOUND",
          "message": "No such cart; it may have expired.",
          "requestId": "3f1c9a7e2b5d4c1a"
         }
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/BodyTooLarge"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "431": {
      "$ref": "#/components/responses/HeadersTooLarge"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "502": {
      "$ref": "#/components/responses/OriginUnavailable"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     },
     "504": {
      "$ref": "#/components/responses/OriginTimeout"
     }
    }
   },
   "post": {
    "tags": [
     "cart"
    ],
    "operationId": "addToCart",
    "summary": "Add a line, or merge it into the same variant's line",
    "description": "Without a cart id, or with one that is unknown or expired, a new cart is created and its\nid set as the `cart_id` cookie (HttpOnly, SameSite=Lax). The line stores the unit price\nshown now as `priceAtAdd` (the checkout's drift baseline; never charged). One line holds\nat most 999; a cart at most 100 different variants. docs/api.md §3.1.\n",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/LineItem"
       },
       "examples": {
        "attributes": {
         "summary": "a variant named by its attributes",
         "value": {
          "sku": "cf-headband",
          "quantity": 2,
          "variantAttributes": {
           "size": "m",
           "color": "navy"
          }
         }
        },
        "variantKey": {
         "summary": "the deprecated variant key",
         "value": {
          "sku": "cf-headband",
          "quantity": 1,
          "variantKey": "cf-headband|color=navy|size=m"
         }
        }
       }
      }
     }
    },
    "responses": {
     "200": {
      "$ref": "#/components/responses/CartWritten"
     },
     "400": {
      "description": "`INVALID_REQUEST` (a field fails validation; the message names it),\n`VARIANT_KEY_MISMATCH`, `CART_ID_CONFLICT`, or a gateway check\n(`SHOP_ID_REQUIRED`, `SHOP_ID_INVALID`, `CLIENT_IP_INVALID`).\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicyOptional"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimitOptional"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "INVALID_REQUEST",
                "VARIANT_KEY_MISMATCH",
                "CART_ID_CONFLICT",
                "SHOP_ID_REQUIRED",
                "SHOP_ID_INVALID",
                "CLIENT_IP_INVALID"
               ]
              }
             }
            }
           }
          }
         ]
        },
        "example": {
         "error": {
          "code": "INVALID_REQUEST",
          "message": "quantity: Input should be less than or equal to 999.",
          "requestId": "3f1c9a7e2b5d4c1a"
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "404": {
      "description": "The shop sells no such SKU or variant (or the shop does not exist).",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "UNKNOWN_SKU",
                "SHOP_NOT_FOUND"
               ]
              }
             }
            }
           }
          }
         ]
        },
        "example": {
         "error": {
          "code": "UNKNOWN_SKU",
          "message": "this shop sells no 'cf-headband|color=red|size=m'.",
          "requestId": "3f1c9a7e2b5d4c1a"
         }
        }
       }
      }
     },
     "409": {
      "description": "`CART_FULL`: the cart already holds 100 different variants.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "const": "CART_FULL"
              }
             }
            }
           }
          }
         ]
        },
        "example": {
         "error": {
          "code": "CART_FULL",
          "message": "A cart holds at most 100 different items.",
          "requestId": "3f1c9a7e2b5d4c1a"
         }
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/BodyTooLarge"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "431": {
      "$ref": "#/components/responses/HeadersTooLarge"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "502": {
      "$ref": "#/components/responses/OriginUnavailable"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     },
     "504": {
      "$ref": "#/components/responses/OriginTimeout"
     }
    }
   },
   "patch": {
    "tags": [
     "cart"
    ],
    "operationId": "setCartQuantity",
    "summary": "Set a line's quantity (0 removes the line)",
    "description": "docs/api.md §3.1.",
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CartPatch"
       },
       "example": {
        "lineId": "ln_Q2hY3m9kTe1x",
        "quantity": 3
       }
      }
     }
    },
    "responses": {
     "200": {
      "$ref": "#/components/responses/CartWritten"
     },
     "400": {
      "$ref": "#/components/responses/CartBadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "404": {
      "$ref": "#/components/responses/CartOrLineNotFound"
     },
     "413": {
      "$ref": "#/components/responses/BodyTooLarge"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "431": {
      "$ref": "#/components/responses/HeadersTooLarge"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "502": {
      "$ref": "#/components/responses/OriginUnavailable"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     },
     "504": {
      "$ref": "#/components/responses/OriginTimeout"
     }
    }
   },
   "delete": {
    "tags": [
     "cart"
    ],
    "operationId": "emptyCart",
    "summary": "Empty the cart, or remove one line",
    "description": "Without `lineId` every line is removed (the cart keeps its id). docs/api.md §3.1.",
    "parameters": [
     {
      "name": "lineId",
      "in": "query",
      "required": false,
      "description": "The line to remove.",
      "schema": {
       "type": "string",
       "minLength": 1,
       "maxLength": 64
      },
      "example": "ln_Q2hY3m9kTe1x"
     }
    ],
    "responses": {
     "200": {
      "$ref": "#/components/responses/CartWritten"
     },
     "400": {
      "$ref": "#/components/responses/CartBadRequest"
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "404": {
      "$ref": "#/components/responses/CartOrLineNotFound"
     },
     "413": {
      "$ref": "#/components/responses/BodyTooLarge"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "431": {
      "$ref": "#/components/responses/HeadersTooLarge"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "502": {
      "$ref": "#/components/responses/OriginUnavailable"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     },
     "504": {
      "$ref": "#/components/responses/OriginTimeout"
     }
    }
   }
  },
  "/api/inventory/validate": {
   "post": {
    "tags": [
     "inventory"
    ],
    "operationId": "validateInventory",
    "summary": "Is there stock for these lines?",
    "description": "Read-only: nothing is held. An optional body `shopId` must equal `x-shop-id`.\nA line may name its variant by the deprecated `variantKey`; when it also sends\n`variantAttributes` they must agree. docs/api.md §3.2.\n",
    "parameters": [
     {
      "$ref": "#/components/parameters/ShopId"
     },
     {
      "$ref": "#/components/parameters/RequestIdIn"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/InventoryValidateRequest"
       },
       "example": {
        "items": [
         {
          "sku": "cf-headband",
          "quantity": 2,
          "variantAttributes": {
           "size": "m",
           "color": "navy"
          }
         }
        ]
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "Every line is in stock.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "required": [
          "ok"
         ],
         "properties": {
          "ok": {
           "const": true
          }
         }
        },
        "example": {
         "ok": true
        }
       }
      }
     },
     "400": {
      "description": "`INVALID_REQUEST`, `SHOP_ID_MISMATCH` (body `shopId` differs from `x-shop-id`),\n`VARIANT_KEY_MISMATCH`, or a gateway check.\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicyOptional"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimitOptional"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "INVALID_REQUEST",
                "SHOP_ID_MISMATCH",
                "VARIANT_KEY_MISMATCH",
                "SHOP_ID_REQUIRED",
                "SHOP_ID_INVALID",
                "CLIENT_IP_INVALID"
               ]
              }
             }
            }
           }
          }
         ]
        },
        "example": {
         "error": {
          "code": "SHOP_ID_MISMATCH",
          "message": "shopId: 'other' differs from the x-shop-id header 'cochlearfit'.",
          "requestId": "3f1c9a7e2b5d4c1a"
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "404": {
      "$ref": "#/components/responses/UnknownSku"
     },
     "409": {
      "description": "Not enough stock for some lines.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/InsufficientStockError"
        },
        "example": {
         "ok": false,
         "error": {
          "code": "INSUFFICIENT_STOCK",
          "message": "Not enough stock for cf-headband|color=navy|size=m (1 of 2).",
          "requestId": "3f1c9a7e2b5d4c1a"
         },
         "items": [
          {
           "sku": "cf-headband",
           "variantKey": "cf-headband|color=navy|size=m",
           "requested": 2,
           "available": 1
          }
         ]
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/BodyTooLarge"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "431": {
      "$ref": "#/components/responses/HeadersTooLarge"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "502": {
      "$ref": "#/components/responses/OriginUnavailable"
     },
     "503": {
      "description": "`INVENTORY_UNAVAILABLE` (the shop sells only from the central pool, which is down;\ndocs/api.md §3.6), `SERVICE_UNAVAILABLE` (the database), or\n`RATE_LIMIT_BACKEND_UNAVAILABLE`. Retry after `Retry-After` seconds.\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "Retry-After": {
        "$ref": "#/components/headers/RetryAfterOptional"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicyOptional"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimitOptional"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "INVENTORY_UNAVAILABLE",
                "SERVICE_UNAVAILABLE",
                "RATE_LIMIT_BACKEND_UNAVAILABLE"
               ]
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "504": {
      "$ref": "#/components/responses/OriginTimeout"
     }
    }
   }
  },
  "/api/checkout-session": {
   "post": {
    "tags": [
     "checkout"
    ],
    "operationId": "createCheckoutSession",
    "summary": "Reprice, hold the stock, open a Stripe Checkout Session",
    "description": "Checks out the cart (body `cartId`, the `cart_id` cookie or `x-cart-id`; all present\nones must agree) or inline `items` (then `Idempotency-Key` is required). Every line is\npriced from the catalog; the charge is always the repriced total. A retry of the same\nintent (same key and body, or without a key the same cart revision and coupon and\nrental days) converges: the same `inventoryReservationId` and `sessionId`, answered\n200 instead of 201; a paid checkout answers `status: paid`; a hold that ended unpaid is\nreplaced by a new one. Hosted shops get `url` (redirect the shopper there); custom shops\nget `clientSecret` (Stripe.js). docs/api.md §3.3.\n",
    "parameters": [
     {
      "$ref": "#/components/parameters/ShopId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     },
     {
      "$ref": "#/components/parameters/CartIdHeader"
     },
     {
      "$ref": "#/components/parameters/CartCookie"
     },
     {
      "$ref": "#/components/parameters/RequestIdIn"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CheckoutRequest"
       },
       "examples": {
        "cart": {
         "summary": "the cart named by the cookie",
         "value": {
          "expectedTotal": 6800,
          "customerEmail": "sam@example.com"
         }
        },
        "inline": {
         "summary": "inline items (static storefronts; needs Idempotency-Key)",
         "value": {
          "items": [
           {
            "sku": "cf-headband",
            "quantity": 2,
            "variantAttributes": {
             "size": "m",
             "color": "navy"
            }
           }
          ],
          "expectedTotal": 6800,
          "couponCode": "WELCOME10"
         }
        }
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "A retry that converged on the existing checkout (`status` `open` or `paid`).",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CheckoutSession"
        },
        "example": {
         "sessionId": "cs_test_a1b2c3d4e5",
         "url": "https://checkout.stripe.com/c/pay/cs_test_a1b2c3d4e5",
         "inventoryReservationId": "hold_9a8b7c",
         "priceChanged": false,
         "amountTotal": 6800,
         "currency": "usd",
         "expiresAt": "2026-11-30T20:05:00Z",
         "status": "paid"
        }
       }
      }
     },
     "201": {
      "description": "A new hold and Stripe Checkout Session.",
      "links": {
       "PollTheOrderStatus": {
        "operationId": "getOrderStatus",
        "description": "What the thank-you page polls until `paid`.",
        "parameters": {
         "sessionId": "$response.body#/sessionId"
        }
       }
      },
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CheckoutSession"
        },
        "examples": {
         "hosted": {
          "value": {
           "sessionId": "cs_test_a1b2c3d4e5",
           "url": "https://checkout.stripe.com/c/pay/cs_test_a1b2c3d4e5",
           "inventoryReservationId": "hold_9a8b7c",
           "priceChanged": false,
           "amountTotal": 6800,
           "currency": "usd",
           "expiresAt": "2026-11-30T20:05:00Z",
           "status": "open"
          }
         },
         "custom": {
          "value": {
           "sessionId": "cs_test_f6g7h8",
           "clientSecret": "cs_test_f6g7h8_secret_x1y2",
           "inventoryReservationId": "hold_1d2e3f",
           "priceChanged": true,
           "amountTotal": 12500,
           "currency": "eur",
           "expiresAt": "2026-11-30T20:05:00Z",
           "status": "open"
          }
         }
        }
       }
      }
     },
     "400": {
      "description": "`INVALID_REQUEST` (a field fails validation, or neither items nor a cart was sent),\n`CART_EMPTY`, `CART_ID_CONFLICT`, `IDEMPOTENCY_KEY_REQUIRED` (inline items without\na key), `INVALID_COUPON`, `VARIANT_KEY_MISMATCH`, or a gateway check.\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicyOptional"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimitOptional"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "INVALID_REQUEST",
                "CART_EMPTY",
                "CART_ID_CONFLICT",
                "IDEMPOTENCY_KEY_REQUIRED",
                "INVALID_COUPON",
                "VARIANT_KEY_MISMATCH",
                "SHOP_ID_REQUIRED",
                "SHOP_ID_INVALID",
                "CLIENT_IP_INVALID"
               ]
              }
             }
            }
           }
          }
         ]
        },
        "example": {
         "error": {
          "code": "IDEMPOTENCY_KEY_REQUIRED",
          "message": "Checking out inline items needs an Idempotency-Key header.",
          "requestId": "3f1c9a7e2b5d4c1a"
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "404": {
      "description": "The cart, a SKU or the shop does not exist.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "CART_NOT_FOUND",
                "UNKNOWN_SKU",
                "SHOP_NOT_FOUND"
               ]
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "409": {
      "description": "`PRICE_CHANGED` (only with `CHECKOUT_REPRICE_POLICY=enforce_and_reject`: the\nrepriced lines and total are in the body; show them and check out again) or\n`INSUFFICIENT_STOCK` (the short lines; nothing was held).\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "oneOf": [
          {
           "$ref": "#/components/schemas/PriceChangedError"
          },
          {
           "$ref": "#/components/schemas/InsufficientStockError"
          }
         ]
        },
        "examples": {
         "priceChanged": {
          "value": {
           "priceChanged": true,
           "error": {
            "code": "PRICE_CHANGED",
            "message": "Prices changed since the cart was priced; review the new total and try again.",
            "requestId": "3f1c9a7e2b5d4c1a"
           },
           "currency": "usd",
           "lines": [
            {
             "sku": "cf-headband",
             "variantKey": "cf-headband|color=navy|size=m",
             "variantAttributes": {
              "color": "navy",
              "size": "m"
             },
             "title": "Sport Headband for Cochlear Implants",
             "quantity": 2,
             "unitPrice": 3600,
             "lineTotal": 7200,
             "deposit": 0,
             "depositTotal": 0
            }
           ],
           "subtotal": 7200,
           "discount": 0,
           "couponCode": null,
           "depositTotal": 0,
           "rentalDays": 0,
           "total": 7200
          }
         },
         "insufficientStock": {
          "value": {
           "ok": false,
           "error": {
            "code": "INSUFFICIENT_STOCK",
            "message": "Not enough stock for some items; nothing was held.",
            "requestId": "3f1c9a7e2b5d4c1a"
           },
           "items": [
            {
             "sku": "cf-headband",
             "variantKey": "cf-headband|color=navy|size=m",
             "requested": 2,
             "available": 1
            }
           ]
          }
         }
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/BodyTooLarge"
     },
     "422": {
      "description": "`IDEMPOTENCY_KEY_REUSED`: this key was used with another request body; nothing was held.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "const": "IDEMPOTENCY_KEY_REUSED"
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "431": {
      "$ref": "#/components/responses/HeadersTooLarge"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "502": {
      "description": "`PAYMENT_PROVIDER_ERROR` (Stripe refused definitively; the hold was released;\n`classification` says how) or `ORIGIN_UNAVAILABLE`.\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "classification": {
             "type": "string"
            },
            "error": {
             "properties": {
              "code": {
               "enum": [
                "PAYMENT_PROVIDER_ERROR",
                "ORIGIN_UNAVAILABLE"
               ]
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "503": {
      "description": "`PAYMENT_PROVIDER_UNAVAILABLE` (Stripe's answer is unknown; the hold is kept and a\nretry of the same request converges on it), `INVENTORY_UNAVAILABLE`,\n`CHECKOUT_BUSY` (a concurrent request of the same checkout), `SERVICE_UNAVAILABLE`\nor `RATE_LIMIT_BACKEND_UNAVAILABLE`. Retry after `Retry-After` seconds.\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "Retry-After": {
        "$ref": "#/components/headers/RetryAfterOptional"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicyOptional"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimitOptional"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "PAYMENT_PROVIDER_UNAVAILABLE",
                "INVENTORY_UNAVAILABLE",
                "CHECKOUT_BUSY",
                "SERVICE_UNAVAILABLE",
                "RATE_LIMIT_BACKEND_UNAVAILABLE"
               ]
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "504": {
      "$ref": "#/components/responses/OriginTimeout"
     }
    }
   }
  },
  "/api/checkout/session": {
   "post": {
    "tags": [
     "checkout"
    ],
    "operationId": "createCheckoutSessionLegacy",
    "summary": "Legacy alias of POST /api/checkout-session",
    "description": "The same handler and the same rate-limit bucket as `/api/checkout-session`; prefer that path.",
    "parameters": [
     {
      "$ref": "#/components/parameters/ShopId"
     },
     {
      "$ref": "#/components/parameters/IdempotencyKey"
     },
     {
      "$ref": "#/components/parameters/CartIdHeader"
     },
     {
      "$ref": "#/components/parameters/CartCookie"
     },
     {
      "$ref": "#/components/parameters/RequestIdIn"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/CheckoutRequest"
       },
       "examples": {
        "cart": {
         "summary": "the cart named by the cookie",
         "value": {
          "expectedTotal": 6800,
          "customerEmail": "sam@example.com"
         }
        },
        "inline": {
         "summary": "inline items (static storefronts; needs Idempotency-Key)",
         "value": {
          "items": [
           {
            "sku": "cf-headband",
            "quantity": 2,
            "variantAttributes": {
             "size": "m",
             "color": "navy"
            }
           }
          ],
          "expectedTotal": 6800,
          "couponCode": "WELCOME10"
         }
        }
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "A retry that converged on the existing checkout (`status` `open` or `paid`).",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CheckoutSession"
        },
        "example": {
         "sessionId": "cs_test_a1b2c3d4e5",
         "url": "https://checkout.stripe.com/c/pay/cs_test_a1b2c3d4e5",
         "inventoryReservationId": "hold_9a8b7c",
         "priceChanged": false,
         "amountTotal": 6800,
         "currency": "usd",
         "expiresAt": "2026-11-30T20:05:00Z",
         "status": "paid"
        }
       }
      }
     },
     "201": {
      "description": "A new hold and Stripe Checkout Session.",
      "links": {
       "PollTheOrderStatus": {
        "operationId": "getOrderStatus",
        "description": "What the thank-you page polls until `paid`.",
        "parameters": {
         "sessionId": "$response.body#/sessionId"
        }
       }
      },
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/CheckoutSession"
        },
        "examples": {
         "hosted": {
          "value": {
           "sessionId": "cs_test_a1b2c3d4e5",
           "url": "https://checkout.stripe.com/c/pay/cs_test_a1b2c3d4e5",
           "inventoryReservationId": "hold_9a8b7c",
           "priceChanged": false,
           "amountTotal": 6800,
           "currency": "usd",
           "expiresAt": "2026-11-30T20:05:00Z",
           "status": "open"
          }
         },
         "custom": {
          "value": {
           "sessionId": "cs_test_f6g7h8",
           "clientSecret": "cs_test_f6g7h8_secret_x1y2",
           "inventoryReservationId": "hold_1d2e3f",
           "priceChanged": true,
           "amountTotal": 12500,
           "currency": "eur",
           "expiresAt": "2026-11-30T20:05:00Z",
           "status": "open"
          }
         }
        }
       }
      }
     },
     "400": {
      "description": "`INVALID_REQUEST` (a field fails validation, or neither items nor a cart was sent),\n`CART_EMPTY`, `CART_ID_CONFLICT`, `IDEMPOTENCY_KEY_REQUIRED` (inline items without\na key), `INVALID_COUPON`, `VARIANT_KEY_MISMATCH`, or a gateway check.\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicyOptional"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimitOptional"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "INVALID_REQUEST",
                "CART_EMPTY",
                "CART_ID_CONFLICT",
                "IDEMPOTENCY_KEY_REQUIRED",
                "INVALID_COUPON",
                "VARIANT_KEY_MISMATCH",
                "SHOP_ID_REQUIRED",
                "SHOP_ID_INVALID",
                "CLIENT_IP_INVALID"
               ]
              }
             }
            }
           }
          }
         ]
        },
        "example": {
         "error": {
          "code": "IDEMPOTENCY_KEY_REQUIRED",
          "message": "Checking out inline items needs an Idempotency-Key header.",
          "requestId": "3f1c9a7e2b5d4c1a"
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "404": {
      "description": "The cart, a SKU or the shop does not exist.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "CART_NOT_FOUND",
                "UNKNOWN_SKU",
                "SHOP_NOT_FOUND"
               ]
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "409": {
      "description": "`PRICE_CHANGED` (only with `CHECKOUT_REPRICE_POLICY=enforce_and_reject`: the\nrepriced lines and total are in the body; show them and check out again) or\n`INSUFFICIENT_STOCK` (the short lines; nothing was held).\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "oneOf": [
          {
           "$ref": "#/components/schemas/PriceChangedError"
          },
          {
           "$ref": "#/components/schemas/InsufficientStockError"
          }
         ]
        },
        "examples": {
         "priceChanged": {
          "value": {
           "priceChanged": true,
           "error": {
            "code": "PRICE_CHANGED",
            "message": "Prices changed since the cart was priced; review the new total and try again.",
            "requestId": "3f1c9a7e2b5d4c1a"
           },
           "currency": "usd",
           "lines": [
            {
             "sku": "cf-headband",
             "variantKey": "cf-headband|color=navy|size=m",
             "variantAttributes": {
              "color": "navy",
              "size": "m"
             },
             "title": "Sport Headband for Cochlear Implants",
             "quantity": 2,
             "unitPrice": 3600,
             "lineTotal": 7200,
             "deposit": 0,
             "depositTotal": 0
            }
           ],
           "subtotal": 7200,
           "discount": 0,
           "couponCode": null,
           "depositTotal": 0,
           "rentalDays": 0,
           "total": 7200
          }
         },
         "insufficientStock": {
          "value": {
           "ok": false,
           "error": {
            "code": "INSUFFICIENT_STOCK",
            "message": "Not enough stock for some items; nothing was held.",
            "requestId": "3f1c9a7e2b5d4c1a"
           },
           "items": [
            {
             "sku": "cf-headband",
             "variantKey": "cf-headband|color=navy|size=m",
             "requested": 2,
             "available": 1
            }
           ]
          }
         }
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/BodyTooLarge"
     },
     "422": {
      "description": "`IDEMPOTENCY_KEY_REUSED`: this key was used with another request body; nothing was held.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "const": "IDEMPOTENCY_KEY_REUSED"
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "431": {
      "$ref": "#/components/responses/HeadersTooLarge"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "502": {
      "description": "`PAYMENT_PROVIDER_ERROR` (Stripe refused definitively; the hold was released;\n`classification` says how) or `ORIGIN_UNAVAILABLE`.\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "classification": {
             "type": "string"
            },
            "error": {
             "properties": {
              "code": {
               "enum": [
                "PAYMENT_PROVIDER_ERROR",
                "ORIGIN_UNAVAILABLE"
               ]
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "503": {
      "description": "`PAYMENT_PROVIDER_UNAVAILABLE` (Stripe's answer is unknown; the hold is kept and a\nretry of the same request converges on it), `INVENTORY_UNAVAILABLE`,\n`CHECKOUT_BUSY` (a concurrent request of the same checkout), `SERVICE_UNAVAILABLE`\nor `RATE_LIMIT_BACKEND_UNAVAILABLE`. Retry after `Retry-After` seconds.\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "Retry-After": {
        "$ref": "#/components/headers/RetryAfterOptional"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicyOptional"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimitOptional"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "PAYMENT_PROVIDER_UNAVAILABLE",
                "INVENTORY_UNAVAILABLE",
                "CHECKOUT_BUSY",
                "SERVICE_UNAVAILABLE",
                "RATE_LIMIT_BACKEND_UNAVAILABLE"
               ]
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "504": {
      "$ref": "#/components/responses/OriginTimeout"
     }
    },
    "deprecated": true
   }
  },
  "/api/order-status": {
   "get": {
    "tags": [
     "orders"
    ],
    "operationId": "getOrderStatus",
    "summary": "The state of a checkout, for the thank-you page",
    "description": "Read-only; poll it until `paid` (or show `pending`, `failed`, `expired`). A session of\nanother shop is 404 exactly as an unknown one. No email or address is returned.\ndocs/api.md §3.5.\n",
    "parameters": [
     {
      "$ref": "#/components/parameters/ShopId"
     },
     {
      "$ref": "#/components/parameters/RequestIdIn"
     },
     {
      "name": "sessionId",
      "in": "query",
      "required": true,
      "description": "The Stripe Checkout Session id (the `{CHECKOUT_SESSION_ID}` of `successUrl`).",
      "schema": {
       "type": "string",
       "minLength": 1,
       "maxLength": 255
      },
      "example": "cs_test_a1b2c3d4e5"
     }
    ],
    "responses": {
     "200": {
      "description": "The checkout's state and what it charges.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "$ref": "#/components/schemas/OrderStatus"
        },
        "examples": {
         "paid": {
          "value": {
           "sessionId": "cs_test_a1b2c3d4e5",
           "status": "paid",
           "orderId": "ord_7Hq2Lm4Zp0",
           "amountTotal": 6800,
           "currency": "usd",
           "lines": [
            {
             "sku": "cf-headband",
             "title": "Sport Headband for Cochlear Implants",
             "variantAttributes": {
              "color": "navy",
              "size": "m"
             },
             "quantity": 2,
             "lineTotal": 6800
            }
           ],
           "depositTotal": 0
          }
         },
         "pending": {
          "value": {
           "sessionId": "cs_test_a1b2c3d4e5",
           "status": "pending",
           "amountTotal": 6800,
           "currency": "usd",
           "lines": [
            {
             "sku": "cf-headband",
             "title": "Sport Headband for Cochlear Implants",
             "variantAttributes": {
              "color": "navy",
              "size": "m"
             },
             "quantity": 2,
             "lineTotal": 6800
            }
           ],
           "depositTotal": 0
          }
         }
        }
       }
      }
     },
     "400": {
      "description": "`INVALID_REQUEST` (`sessionId` missing or too long), or a gateway check.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicyOptional"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimitOptional"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "INVALID_REQUEST",
                "SHOP_ID_REQUIRED",
                "SHOP_ID_INVALID",
                "CLIENT_IP_INVALID"
               ]
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "404": {
      "description": "No such session for this shop (or no such shop).",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "SESSION_NOT_FOUND",
                "SHOP_NOT_FOUND"
               ]
              }
             }
            }
           }
          }
         ]
        },
        "example": {
         "error": {
          "code": "SESSION_NOT_FOUND",
          "message": "No checkout session 'cs_test_nope'.",
          "requestId": "3f1c9a7e2b5d4c1a"
         }
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/BodyTooLarge"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "431": {
      "$ref": "#/components/responses/HeadersTooLarge"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "502": {
      "$ref": "#/components/responses/OriginUnavailable"
     },
     "503": {
      "$ref": "#/components/responses/ServiceUnavailable"
     },
     "504": {
      "$ref": "#/components/responses/OriginTimeout"
     }
    }
   }
  },
  "/api/stripe-webhook": {
   "post": {
    "tags": [
     "stripe"
    ],
    "operationId": "stripeWebhook",
    "summary": "Stripe's event deliveries",
    "description": "Configure this URL as the Stripe webhook endpoint (events `checkout.session.completed`,\n`checkout.session.async_payment_succeeded`, `checkout.session.async_payment_failed`,\n`checkout.session.expired`). The signature is checked over the raw body (300 s\ntolerance both ways; several secrets during a rotation). The shop is resolved from the\nsession's `metadata.shop_id`; an `x-shop-id` the front door adds must agree. Each event\nid takes effect once; processed, duplicate and ignored events all answer 200.\nRate-limited per client IP only. docs/api.md §3.4.\n",
    "parameters": [
     {
      "name": "x-shop-id",
      "in": "header",
      "required": false,
      "description": "Optional; when present it must match the event's shop (else 403 `TENANT_MISMATCH`).",
      "schema": {
       "$ref": "#/components/schemas/ShopId"
      }
     },
     {
      "name": "Stripe-Signature",
      "in": "header",
      "required": true,
      "description": "`t=<unix seconds>,v1=<hex HMAC-SHA256 of \"t.body\">[,v1=…]`, as Stripe sends it.",
      "schema": {
       "type": "string",
       "minLength": 1
      },
      "example": "t=1764500000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"
     },
     {
      "$ref": "#/components/parameters/RequestIdIn"
     }
    ],
    "requestBody": {
     "required": true,
     "content": {
      "application/json": {
       "schema": {
        "$ref": "#/components/schemas/StripeEvent"
       },
       "example": {
        "id": "evt_1Q2w3E4r5T6y",
        "type": "checkout.session.completed",
        "data": {
         "object": {
          "id": "cs_test_a1b2c3d4e5",
          "object": "checkout.session",
          "payment_status": "paid",
          "amount_total": 6800,
          "currency": "usd",
          "metadata": {
           "shop_id": "cochlearfit",
           "hold_id": "hold_9a8b7c"
          }
         }
        }
       }
      }
     }
    },
    "responses": {
     "200": {
      "description": "Processed, a duplicate, or an event type that is ignored.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "required": [
          "received"
         ],
         "properties": {
          "received": {
           "const": true
          }
         }
        },
        "example": {
         "received": true
        }
       }
      }
     },
     "400": {
      "description": "`INVALID_SIGNATURE` (missing, invalid or outside the tolerance), `INVALID_REQUEST`\n(the body is not a Stripe event), or a gateway check (`SHOP_ID_INVALID`,\n`CLIENT_IP_INVALID`).\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicyOptional"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimitOptional"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "INVALID_SIGNATURE",
                "INVALID_REQUEST",
                "SHOP_ID_INVALID",
                "CLIENT_IP_INVALID"
               ]
              }
             }
            }
           }
          }
         ]
        },
        "example": {
         "error": {
          "code": "INVALID_SIGNATURE",
          "message": "The Stripe-Signature header does not match this body.",
          "requestId": "3f1c9a7e2b5d4c1a"
         }
        }
       }
      }
     },
     "401": {
      "$ref": "#/components/responses/Unauthorized"
     },
     "403": {
      "description": "`TENANT_MISMATCH`: `x-shop-id` differs from the event's shop; nothing was processed.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicy"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimit"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "const": "TENANT_MISMATCH"
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "413": {
      "$ref": "#/components/responses/BodyTooLarge"
     },
     "429": {
      "$ref": "#/components/responses/RateLimited"
     },
     "431": {
      "$ref": "#/components/responses/HeadersTooLarge"
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     },
     "502": {
      "$ref": "#/components/responses/OriginUnavailable"
     },
     "503": {
      "description": "`TENANT_UNRESOLVABLE` (no shop can be found for the event; Stripe retries),\n`SERVICE_UNAVAILABLE` or `RATE_LIMIT_BACKEND_UNAVAILABLE`.\n",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       },
       "Access-Control-Allow-Origin": {
        "$ref": "#/components/headers/AllowOrigin"
       },
       "Retry-After": {
        "$ref": "#/components/headers/RetryAfterOptional"
       },
       "RateLimit-Policy": {
        "$ref": "#/components/headers/RateLimitPolicyOptional"
       },
       "RateLimit": {
        "$ref": "#/components/headers/RateLimitOptional"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "enum": [
                "TENANT_UNRESOLVABLE",
                "SERVICE_UNAVAILABLE",
                "RATE_LIMIT_BACKEND_UNAVAILABLE"
               ]
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "504": {
      "$ref": "#/components/responses/OriginTimeout"
     }
    }
   }
  },
  "/healthz": {
   "get": {
    "tags": [
     "operations"
    ],
    "operationId": "gatewayHealthz",
    "summary": "The gateway process is alive",
    "description": "Needs no front-door token (probes call it inside the cluster). docs/api.md §2.",
    "security": [],
    "responses": {
     "200": {
      "description": "Alive.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "required": [
          "status"
         ],
         "properties": {
          "status": {
           "const": "ok"
          }
         }
        },
        "example": {
         "status": "ok"
        }
       }
      }
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     }
    }
   }
  },
  "/readyz": {
   "get": {
    "tags": [
     "operations"
    ],
    "operationId": "gatewayReadyz",
    "summary": "The gateway can serve requests as configured",
    "description": "200 when the origin is reachable and Redis is reachable or the failure mode is not\n`closed` (then `status` and `redis` are `degraded`); else 503 `NOT_READY` (`redis`\nis `unavailable` when Redis in failure mode `closed` is the reason).\nAnswers within about a second even when a dependency hangs. Needs no front-door token.\ndocs/api.md §2.\n",
    "security": [],
    "responses": {
     "200": {
      "description": "Ready (possibly with rate limiting degraded).",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "type": "object",
         "required": [
          "status",
          "checks"
         ],
         "properties": {
          "status": {
           "enum": [
            "ready",
            "degraded"
           ]
          },
          "redis": {
           "enum": [
            "ok",
            "degraded",
            "not-configured"
           ],
           "description": "`degraded`: Redis is unreachable and the failure mode (`fallback` or `open`) decides meanwhile; `not-configured`: in-process limits."
          },
          "checks": {
           "$ref": "#/components/schemas/ReadinessChecks"
          }
         }
        },
        "example": {
         "status": "ready",
         "redis": "ok",
         "checks": {
          "origin": {
           "reachable": true
          },
          "rateLimit": {
           "backend": "redis",
           "reachable": true,
           "breaker": "closed",
           "failureMode": "fallback",
           "degraded": false
          }
         }
        }
       }
      }
     },
     "503": {
      "description": "`NOT_READY`: the origin, or Redis in failure mode `closed`, is unreachable.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "type": "object",
           "required": [
            "status",
            "checks"
           ],
           "properties": {
            "status": {
             "const": "unready"
            },
            "redis": {
             "enum": [
              "ok",
              "degraded",
              "unavailable",
              "not-configured"
             ]
            },
            "checks": {
             "$ref": "#/components/schemas/ReadinessChecks"
            },
            "error": {
             "properties": {
              "code": {
               "const": "NOT_READY"
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     }
    }
   }
  },
  "/metrics": {
   "get": {
    "tags": [
     "operations"
    ],
    "operationId": "gatewayMetrics",
    "summary": "Prometheus metrics of the gateway",
    "description": "Prometheus text format. Exempt from the front-door token (scrapers call it inside the\ncluster); when `GATEWAY_METRICS_TOKEN` is set it needs `Authorization: Bearer <token>`.\nThe metric names are listed in docs/api.md §4.\n",
    "security": [
     {},
     {
      "metricsBearer": []
     }
    ],
    "responses": {
     "200": {
      "description": "The metrics.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "text/plain": {
        "schema": {
         "type": "string"
        },
        "example": "# HELP checkout_rate_limited_total Requests refused by the rate limit.\n# TYPE checkout_rate_limited_total counter\ncheckout_rate_limited_total{route=\"/api/checkout-session\",shop=\"cochlearfit\"} 3.0\n"
       }
      }
     },
     "401": {
      "description": "`METRICS_UNAUTHORIZED`: the bearer token is missing or wrong.",
      "headers": {
       "x-request-id": {
        "$ref": "#/components/headers/RequestId"
       }
      },
      "content": {
       "application/json": {
        "schema": {
         "allOf": [
          {
           "$ref": "#/components/schemas/Error"
          },
          {
           "properties": {
            "error": {
             "properties": {
              "code": {
               "const": "METRICS_UNAUTHORIZED"
              }
             }
            }
           }
          }
         ]
        }
       }
      }
     },
     "500": {
      "$ref": "#/components/responses/InternalError"
     }
    }
   }
  }
 },
 "components": {
  "securitySchemes": {
   "frontDoor": {
    "type": "apiKey",
    "in": "header",
    "name": "x-front-door-token",
    "description": "Added by the front door (CDN/WAF) to every request it forwards; a browser never sends\nit. Missing or wrong → 401 `FRONT_DOOR_UNAUTHORIZED`.\n"
   },
   "metricsBearer": {
    "type": "http",
    "scheme": "bearer",
    "description": "`GATEWAY_METRICS_TOKEN`, when it is set."
   }
  },
  "parameters": {
   "ShopId": {
    "name": "x-shop-id",
    "in": "header",
    "required": true,
    "description": "The shop. The front door derives it from the host name (the browser never chooses it).\nMissing → 400 `SHOP_ID_REQUIRED`; malformed → 400 `SHOP_ID_INVALID`; well-formed but\nunknown → 404 `SHOP_NOT_FOUND`.\n",
    "schema": {
     "$ref": "#/components/schemas/ShopId"
    },
    "example": "cochlearfit"
   },
   "CartIdHeader": {
    "name": "x-cart-id",
    "in": "header",
    "required": false,
    "description": "The cart, for clients that do not keep the `cart_id` cookie. When the header and the\ncookie (and, for checkout, body `cartId`) are present and differ → 400 `CART_ID_CONFLICT`.\n",
    "schema": {
     "$ref": "#/components/schemas/CartId"
    }
   },
   "CartCookie": {
    "name": "cart_id",
    "in": "cookie",
    "required": false,
    "description": "The cart, as the origin set it (HttpOnly, SameSite=Lax, Secure in production).",
    "schema": {
     "$ref": "#/components/schemas/CartId"
    }
   },
   "IdempotencyKey": {
    "name": "Idempotency-Key",
    "in": "header",
    "required": false,
    "description": "One per checkout attempt, kept until the attempt ends (IETF idempotency-key draft).\nRequired when checking out inline `items` (400 `IDEMPOTENCY_KEY_REQUIRED`); the same\nkey with another body → 422 `IDEMPOTENCY_KEY_REUSED`.\n",
    "schema": {
     "type": "string",
     "minLength": 1,
     "maxLength": 255
    },
    "example": "5b0f6e0e-3d4c-4a57-9f4e-1c2b3a4d5e6f"
   },
   "RequestIdIn": {
    "name": "x-request-id",
    "in": "header",
    "required": false,
    "description": "Kept and echoed when it is 1–128 safe characters; else the gateway makes one.",
    "schema": {
     "type": "string",
     "pattern": "^[A-Za-z0-9._:-]{1,128}$"
    }
   }
  },
  "headers": {
   "RequestId": {
    "description": "The request's id, also in every log line about it and in error bodies.",
    "required": true,
    "schema": {
     "type": "string",
     "minLength": 1,
     "maxLength": 128
    }
   },
   "RateLimitPolicy": {
    "description": "The limit that applies, e.g. `\"checkout\";q=10;w=60` (quota 10 per 60 s).",
    "required": true,
    "schema": {
     "type": "string",
     "pattern": "^\"[a-z]+\";q=\\d+;w=\\d+$"
    },
    "example": "\"checkout\";q=10;w=60"
   },
   "RateLimit": {
    "description": "What is left of it, e.g. `\"checkout\";r=3;t=41` (3 left, window resets in 41 s).",
    "required": true,
    "schema": {
     "type": "string",
     "pattern": "^\"[a-z]+\";r=\\d+;t=\\d+$"
    },
    "example": "\"checkout\";r=3;t=41"
   },
   "RateLimitPolicyOptional": {
    "description": "Present when the request reached the rate limiter.",
    "schema": {
     "type": "string",
     "pattern": "^\"[a-z]+\";q=\\d+;w=\\d+$"
    }
   },
   "RateLimitOptional": {
    "description": "Present when the request reached the rate limiter.",
    "schema": {
     "type": "string",
     "pattern": "^\"[a-z]+\";r=\\d+;t=\\d+$"
    }
   },
   "RetryAfter": {
    "description": "Whole seconds to wait before retrying (≥ 1).",
    "required": true,
    "schema": {
     "type": "string",
     "pattern": "^[1-9]\\d*$"
    },
    "example": "41"
   },
   "RetryAfterOptional": {
    "description": "Whole seconds to wait before retrying (≥ 1).",
    "schema": {
     "type": "string",
     "pattern": "^[1-9]\\d*$"
    }
   },
   "SetCartCookie": {
    "description": "`cart_id=<id>; Max-Age=<CART_TTL_SECONDS>; Path=/; HttpOnly; SameSite=Lax` (`; Secure` in production), set on every write.",
    "required": true,
    "schema": {
     "type": "string",
     "pattern": "^cart_id=[A-Za-z0-9_-]+;"
    }
   },
   "AllowOrigin": {
    "description": "Set (with `Access-Control-Allow-Credentials` and `Vary: Origin`) only when the request's `Origin` is listed for its `x-shop-id` in `GATEWAY_CORS_ORIGINS` (docs/api.md §2).",
    "schema": {
     "type": "string"
    },
    "example": "https://cochlearfit.example"
   },
   "Allow": {
    "description": "The methods the path accepts.",
    "required": true,
    "schema": {
     "type": "string"
    },
    "example": "DELETE, GET, PATCH, POST"
   }
  },
  "responses": {
   "CartAnswer": {
    "description": "The cart priced from the catalog now.",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     },
     "Access-Control-Allow-Origin": {
      "$ref": "#/components/headers/AllowOrigin"
     },
     "RateLimit-Policy": {
      "$ref": "#/components/headers/RateLimitPolicy"
     },
     "RateLimit": {
      "$ref": "#/components/headers/RateLimit"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Cart"
      },
      "examples": {
       "cart": {
        "value": {
         "cartId": "Zk3l0N8pQ2rS5tU7vW9xY1zA3bC5dE7f",
         "revision": 2,
         "currency": "usd",
         "lines": [
          {
           "lineId": "ln_Q2hY3m9kTe1x",
           "sku": "cf-headband",
           "variantAttributes": {
            "color": "navy",
            "size": "m"
           },
           "title": "Sport Headband for Cochlear Implants",
           "quantity": 2,
           "unitPrice": 3400,
           "priceAtAdd": 3400,
           "lineTotal": 6800
          }
         ],
         "subtotal": 6800,
         "unavailableLines": []
        }
       },
       "none": {
        "summary": "no cart yet",
        "value": {
         "cartId": null,
         "revision": 0,
         "currency": "usd",
         "lines": [],
         "subtotal": 0,
         "unavailableLines": []
        }
       }
      }
     }
    }
   },
   "CartWritten": {
    "description": "The changed cart, priced from the catalog now; the cookie is (re)set.",
    "links": {
     "GetTheCart": {
      "operationId": "getCart",
      "description": "Read the cart back by its id.",
      "parameters": {
       "header.x-cart-id": "$response.body#/cartId"
      }
     },
     "CheckOutTheCart": {
      "operationId": "createCheckoutSession",
      "description": "Check this cart out (the id may also travel as the cookie or body `cartId`).",
      "parameters": {
       "header.x-cart-id": "$response.body#/cartId"
      }
     }
    },
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     },
     "RateLimit-Policy": {
      "$ref": "#/components/headers/RateLimitPolicy"
     },
     "RateLimit": {
      "$ref": "#/components/headers/RateLimit"
     },
     "Set-Cookie": {
      "$ref": "#/components/headers/SetCartCookie"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "$ref": "#/components/schemas/Cart"
      },
      "example": {
       "cartId": "Zk3l0N8pQ2rS5tU7vW9xY1zA3bC5dE7f",
       "revision": 3,
       "currency": "usd",
       "lines": [
        {
         "lineId": "ln_Q2hY3m9kTe1x",
         "sku": "cf-headband",
         "variantAttributes": {
          "color": "navy",
          "size": "m"
         },
         "title": "Sport Headband for Cochlear Implants",
         "quantity": 3,
         "unitPrice": 3400,
         "priceAtAdd": 3400,
         "lineTotal": 10200
        }
       ],
       "subtotal": 10200,
       "unavailableLines": []
      }
     }
    }
   },
   "CartBadRequest": {
    "description": "`INVALID_REQUEST`, `CART_ID_CONFLICT`, or a gateway check.",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     },
     "Access-Control-Allow-Origin": {
      "$ref": "#/components/headers/AllowOrigin"
     },
     "RateLimit-Policy": {
      "$ref": "#/components/headers/RateLimitPolicyOptional"
     },
     "RateLimit": {
      "$ref": "#/components/headers/RateLimitOptional"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "enum": [
              "INVALID_REQUEST",
              "CART_ID_CONFLICT",
              "SHOP_ID_REQUIRED",
              "SHOP_ID_INVALID",
              "CLIENT_IP_INVALID"
             ]
            }
           }
          }
         }
        }
       ]
      },
      "example": {
       "error": {
        "code": "CART_ID_CONFLICT",
        "message": "The x-cart-id header and the cart_id cookie name different carts.",
        "requestId": "3f1c9a7e2b5d4c1a"
       }
      }
     }
    }
   },
   "CartOrLineNotFound": {
    "description": "The cart or the line does not exist (or the shop does not).",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     },
     "Access-Control-Allow-Origin": {
      "$ref": "#/components/headers/AllowOrigin"
     },
     "RateLimit-Policy": {
      "$ref": "#/components/headers/RateLimitPolicy"
     },
     "RateLimit": {
      "$ref": "#/components/headers/RateLimit"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "enum": [
              "CART_NOT_FOUND",
              "LINE_NOT_FOUND",
              "SHOP_NOT_FOUND"
             ]
            }
           }
          }
         }
        }
       ]
      }
     }
    }
   },
   "UnknownSku": {
    "description": "The shop sells no such SKU or variant (or the shop does not exist).",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     },
     "Access-Control-Allow-Origin": {
      "$ref": "#/components/headers/AllowOrigin"
     },
     "RateLimit-Policy": {
      "$ref": "#/components/headers/RateLimitPolicy"
     },
     "RateLimit": {
      "$ref": "#/components/headers/RateLimit"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "enum": [
              "UNKNOWN_SKU",
              "SHOP_NOT_FOUND"
             ]
            }
           }
          }
         }
        }
       ]
      }
     }
    }
   },
   "Unauthorized": {
    "description": "`FRONT_DOOR_UNAUTHORIZED`: the request did not come through the front door.\n(`GATEWAY_UNAUTHORIZED` means the gateway's `GATEWAY_ORIGIN_TOKEN` is not one the\norigin accepts: a deployment error, never the caller's.)\n",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "enum": [
              "FRONT_DOOR_UNAUTHORIZED",
              "GATEWAY_UNAUTHORIZED"
             ]
            }
           }
          }
         }
        }
       ]
      },
      "example": {
       "error": {
        "code": "FRONT_DOOR_UNAUTHORIZED",
        "message": "This service is only reachable through the front door.",
        "requestId": "3f1c9a7e2b5d4c1a"
       }
      }
     }
    }
   },
   "BodyTooLarge": {
    "description": "`BODY_TOO_LARGE`: the body exceeds `GATEWAY_MAX_BODY_BYTES` (default 65536), also when chunked.",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "const": "BODY_TOO_LARGE"
            }
           }
          }
         }
        }
       ]
      }
     }
    }
   },
   "RateLimited": {
    "description": "`RATE_LIMITED`: over the route class's limit for this shop and client IP, or over the per-IP ceiling.",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     },
     "Retry-After": {
      "$ref": "#/components/headers/RetryAfter"
     },
     "RateLimit-Policy": {
      "$ref": "#/components/headers/RateLimitPolicy"
     },
     "RateLimit": {
      "$ref": "#/components/headers/RateLimit"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "const": "RATE_LIMITED"
            }
           }
          }
         }
        }
       ]
      },
      "example": {
       "error": {
        "code": "RATE_LIMITED",
        "message": "Too many requests; retry in 41 seconds.",
        "requestId": "3f1c9a7e2b5d4c1a"
       }
      }
     }
    }
   },
   "HeadersTooLarge": {
    "description": "`REQUEST_HEADERS_TOO_LARGE`: the request line and headers exceed `GATEWAY_MAX_HEADER_BYTES` (default 16384) or 100 fields.",
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "const": "REQUEST_HEADERS_TOO_LARGE"
            }
           }
          }
         }
        }
       ]
      }
     }
    }
   },
   "InternalError": {
    "description": "`INTERNAL_ERROR`: a bug on our side (it is logged with the request id); never the answer to a bad request.",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "const": "INTERNAL_ERROR"
            }
           }
          }
         }
        }
       ]
      }
     }
    }
   },
   "OriginUnavailable": {
    "description": "`ORIGIN_UNAVAILABLE`: the gateway could not reach the origin.",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     },
     "Access-Control-Allow-Origin": {
      "$ref": "#/components/headers/AllowOrigin"
     },
     "RateLimit-Policy": {
      "$ref": "#/components/headers/RateLimitPolicy"
     },
     "RateLimit": {
      "$ref": "#/components/headers/RateLimit"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "const": "ORIGIN_UNAVAILABLE"
            }
           }
          }
         }
        }
       ]
      }
     }
    }
   },
   "ServiceUnavailable": {
    "description": "`SERVICE_UNAVAILABLE` (the origin's database is unreachable or timing out) or\n`RATE_LIMIT_BACKEND_UNAVAILABLE` (Redis is down and the failure mode is `closed`).\nRetry after `Retry-After` seconds.\n",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     },
     "Access-Control-Allow-Origin": {
      "$ref": "#/components/headers/AllowOrigin"
     },
     "Retry-After": {
      "$ref": "#/components/headers/RetryAfterOptional"
     },
     "RateLimit-Policy": {
      "$ref": "#/components/headers/RateLimitPolicyOptional"
     },
     "RateLimit": {
      "$ref": "#/components/headers/RateLimitOptional"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "enum": [
              "SERVICE_UNAVAILABLE",
              "RATE_LIMIT_BACKEND_UNAVAILABLE"
             ]
            }
           }
          }
         }
        }
       ]
      }
     }
    }
   },
   "OriginTimeout": {
    "description": "`ORIGIN_TIMEOUT`: the origin did not answer within `GATEWAY_UPSTREAM_TIMEOUT_SECONDS` (default 10).",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     },
     "Access-Control-Allow-Origin": {
      "$ref": "#/components/headers/AllowOrigin"
     },
     "RateLimit-Policy": {
      "$ref": "#/components/headers/RateLimitPolicy"
     },
     "RateLimit": {
      "$ref": "#/components/headers/RateLimit"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "const": "ORIGIN_TIMEOUT"
            }
           }
          }
         }
        }
       ]
      }
     }
    }
   },
   "RouteNotFound": {
    "x-status": 404,
    "description": "`ROUTE_NOT_FOUND`: any path that is not listed here; never forwarded.",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "const": "ROUTE_NOT_FOUND"
            }
           }
          }
         }
        }
       ]
      }
     }
    }
   },
   "MethodNotAllowed": {
    "x-status": 405,
    "description": "`METHOD_NOT_ALLOWED`: a listed path with a method it does not accept; `Allow` lists those it does.",
    "headers": {
     "x-request-id": {
      "$ref": "#/components/headers/RequestId"
     },
     "Allow": {
      "$ref": "#/components/headers/Allow"
     }
    },
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "const": "METHOD_NOT_ALLOWED"
            }
           }
          }
         }
        }
       ]
      }
     }
    }
   },
   "CorsPreflight": {
    "x-status": 204,
    "description": "A CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) on a listed\npath from an origin that `GATEWAY_CORS_ORIGINS` allows for some shop: answered by the\ngateway with the path's methods, the allowed request headers (`x-shop-id`, `x-cart-id`,\n`idempotency-key`, `content-type`), credentials allowed and `Vary: Origin`.\n"
   },
   "CorsOriginNotAllowed": {
    "x-status": 403,
    "description": "`CORS_ORIGIN_NOT_ALLOWED`: a preflight from an origin no shop allows; no CORS headers.",
    "content": {
     "application/json": {
      "schema": {
       "allOf": [
        {
         "$ref": "#/components/schemas/Error"
        },
        {
         "properties": {
          "error": {
           "properties": {
            "code": {
             "const": "CORS_ORIGIN_NOT_ALLOWED"
            }
           }
          }
         }
        }
       ]
      }
     }
    }
   }
  },
  "schemas": {
   "Error": {
    "type": "object",
    "description": "The body of every error; some codes add top-level keys.",
    "required": [
     "error"
    ],
    "properties": {
     "error": {
      "type": "object",
      "required": [
       "code",
       "message",
       "requestId"
      ],
      "properties": {
       "code": {
        "type": "string",
        "pattern": "^[A-Z][A-Z0-9_]*$",
        "description": "Stable, machine-readable; see docs/api.md for each code."
       },
       "message": {
        "type": "string",
        "description": "A sentence a person can act on (not stable; do not parse it)."
       },
       "requestId": {
        "type": [
         "string",
         "null"
        ],
        "description": "The request's `x-request-id`; quote it when reporting a problem."
       }
      }
     }
    }
   },
   "CartNotFoundError": {
    "allOf": [
     {
      "$ref": "#/components/schemas/Error"
     },
     {
      "properties": {
       "error": {
        "properties": {
         "code": {
          "enum": [
           "CART_NOT_FOUND",
           "SHOP_NOT_FOUND"
          ]
         }
        }
       }
      }
     }
    ]
   },
   "InsufficientStockError": {
    "allOf": [
     {
      "$ref": "#/components/schemas/Error"
     },
     {
      "type": "object",
      "required": [
       "ok",
       "items"
      ],
      "properties": {
       "ok": {
        "const": false
       },
       "error": {
        "properties": {
         "code": {
          "const": "INSUFFICIENT_STOCK"
         }
        }
       },
       "items": {
        "type": "array",
        "items": {
         "$ref": "#/components/schemas/Shortage"
        }
       }
      }
     }
    ]
   },
   "PriceChangedError": {
    "allOf": [
     {
      "$ref": "#/components/schemas/Error"
     },
     {
      "$ref": "#/components/schemas/Quote"
     },
     {
      "type": "object",
      "required": [
       "priceChanged"
      ],
      "properties": {
       "priceChanged": {
        "const": true
       },
       "error": {
        "properties": {
         "code": {
          "const": "PRICE_CHANGED"
         }
        }
       }
      }
     }
    ]
   },
   "Shortage": {
    "type": "object",
    "required": [
     "sku",
     "variantKey",
     "requested",
     "available"
    ],
    "properties": {
     "sku": {
      "$ref": "#/components/schemas/Sku"
     },
     "variantKey": {
      "type": "string"
     },
     "requested": {
      "type": "integer",
      "minimum": 1,
      "description": "The total asked for this variant (lines summed)."
     },
     "available": {
      "type": "integer",
      "minimum": 0
     }
    }
   },
   "ShopId": {
    "type": "string",
    "pattern": "^[a-z0-9][a-z0-9-]{1,63}$",
    "examples": [
     "cochlearfit"
    ]
   },
   "CartId": {
    "type": "string",
    "description": "What the origin issues (32 URL-safe characters); anything else names no cart.",
    "pattern": "^[A-Za-z0-9_-]{16,64}$"
   },
   "Sku": {
    "type": "string",
    "pattern": "^[A-Za-z0-9._-]{1,64}$",
    "examples": [
     "cf-headband"
    ]
   },
   "Money": {
    "type": "integer",
    "minimum": 0,
    "description": "An amount in the currency's minor units (cents)."
   },
   "Currency": {
    "type": "string",
    "pattern": "^[a-z]{3}$",
    "description": "ISO 4217 code, lower case, as Stripe writes it.",
    "examples": [
     "usd"
    ]
   },
   "VariantAttributes": {
    "type": "object",
    "description": "The variant's attributes (keys and values are compared lower-case).",
    "maxProperties": 20,
    "propertyNames": {
     "minLength": 1,
     "maxLength": 64,
     "pattern": "^[^\\x00-\\x1f\\x7f]*$"
    },
    "additionalProperties": {
     "type": "string",
     "maxLength": 256,
     "pattern": "^[^\\x00-\\x1f\\x7f]*$"
    },
    "examples": [
     {
      "size": "m",
      "color": "navy"
     }
    ]
   },
   "LineItem": {
    "type": "object",
    "description": "One line of a request: a SKU, a quantity and the variant. `variantKey` is deprecated:\nthe SKU, then `|key=value` per attribute in key order, lower-case, with `%`, `|`, `=`\npercent-encoded (`cf-headband|color=navy|size=m`). Never a price.\n",
    "required": [
     "sku",
     "quantity"
    ],
    "additionalProperties": false,
    "properties": {
     "sku": {
      "$ref": "#/components/schemas/Sku"
     },
     "quantity": {
      "type": "integer",
      "minimum": 1,
      "maximum": 999
     },
     "variantAttributes": {
      "$ref": "#/components/schemas/VariantAttributes"
     },
     "variantKey": {
      "type": "string",
      "minLength": 1,
      "maxLength": 1024,
      "deprecated": true
     }
    }
   },
   "LineItems": {
    "type": "array",
    "minItems": 1,
    "maxItems": 100,
    "items": {
     "$ref": "#/components/schemas/LineItem"
    }
   },
   "CartPatch": {
    "type": "object",
    "required": [
     "lineId",
     "quantity"
    ],
    "additionalProperties": false,
    "properties": {
     "lineId": {
      "type": "string",
      "minLength": 1,
      "maxLength": 64,
      "pattern": "^[^\\x00-\\x1f\\x7f]*$"
     },
     "quantity": {
      "type": "integer",
      "minimum": 0,
      "maximum": 999,
      "description": "0 removes the line."
     }
    }
   },
   "Cart": {
    "type": "object",
    "required": [
     "cartId",
     "revision",
     "currency",
     "lines",
     "subtotal"
    ],
    "properties": {
     "cartId": {
      "type": [
       "string",
       "null"
      ],
      "description": "`null` only for \"no cart yet\" (a GET without any cart id)."
     },
     "revision": {
      "type": "integer",
      "minimum": 0,
      "description": "Grows with every change to the cart (add, merge, patch, delete, emptied after payment)."
     },
     "currency": {
      "$ref": "#/components/schemas/Currency"
     },
     "lines": {
      "type": "array",
      "items": {
       "$ref": "#/components/schemas/CartLine"
      }
     },
     "subtotal": {
      "$ref": "#/components/schemas/Money"
     },
     "unavailableLines": {
      "type": "array",
      "description": "Lines whose variant left the catalog; not priced, not in `subtotal`. Remove them.",
      "items": {
       "type": "object",
       "required": [
        "lineId",
        "sku",
        "variantAttributes",
        "quantity"
       ],
       "properties": {
        "lineId": {
         "type": "string"
        },
        "sku": {
         "type": "string"
        },
        "variantAttributes": {
         "type": "object",
         "additionalProperties": {
          "type": "string"
         }
        },
        "quantity": {
         "type": "integer",
         "minimum": 1
        }
       }
      }
     }
    }
   },
   "CartLine": {
    "type": "object",
    "required": [
     "lineId",
     "sku",
     "variantAttributes",
     "title",
     "quantity",
     "unitPrice",
     "priceAtAdd",
     "lineTotal"
    ],
    "properties": {
     "lineId": {
      "type": "string"
     },
     "sku": {
      "type": "string"
     },
     "variantAttributes": {
      "type": "object",
      "additionalProperties": {
       "type": "string"
      }
     },
     "title": {
      "type": "string"
     },
     "quantity": {
      "type": "integer",
      "minimum": 1,
      "maximum": 999
     },
     "unitPrice": {
      "$ref": "#/components/schemas/Money"
     },
     "priceAtAdd": {
      "allOf": [
       {
        "$ref": "#/components/schemas/Money"
       }
      ],
      "description": "The unit price when the line was added; the checkout's drift baseline, never charged."
     },
     "lineTotal": {
      "$ref": "#/components/schemas/Money"
     }
    }
   },
   "InventoryValidateRequest": {
    "type": "object",
    "required": [
     "items"
    ],
    "additionalProperties": false,
    "properties": {
     "items": {
      "$ref": "#/components/schemas/LineItems"
     },
     "shopId": {
      "type": "string",
      "description": "Optional; must equal `x-shop-id` (else 400 `SHOP_ID_MISMATCH`)."
     }
    }
   },
   "CheckoutRequest": {
    "type": "object",
    "additionalProperties": false,
    "description": "The cart (`cartId`, cookie or `x-cart-id`) or inline `items`.",
    "properties": {
     "cartId": {
      "type": "string",
      "minLength": 1,
      "maxLength": 64,
      "description": "The cart to check out; must agree with the cookie and `x-cart-id` when those are sent."
     },
     "items": {
      "$ref": "#/components/schemas/LineItems"
     },
     "expectedTotal": {
      "type": "integer",
      "minimum": 0,
      "maximum": 1000000000000,
      "description": "The total the shopper saw; the drift baseline (else the cart's `priceAtAdd`s)."
     },
     "couponCode": {
      "type": "string",
      "minLength": 1,
      "maxLength": 64,
      "pattern": "^[^\\x00-\\x1f\\x7f]*$"
     },
     "rentalDays": {
      "type": "integer",
      "description": "Rental shops: 1…90, required, recorded (the price is for the whole rental). Sale shops: ignored."
     },
     "customerEmail": {
      "type": "string",
      "pattern": "^[^@\\s\\x00-\\x1f\\x7f]{1,64}@[^@\\s\\x00-\\x1f\\x7f.]{1,63}(?:\\.[^@\\s\\x00-\\x1f\\x7f.]{1,63}){1,8}$",
      "description": "Prefills Stripe's checkout page; an address Stripe would refuse is 400 `INVALID_REQUEST` (nothing held)."
     }
    }
   },
   "CheckoutSession": {
    "type": "object",
    "required": [
     "sessionId",
     "inventoryReservationId",
     "priceChanged",
     "amountTotal",
     "currency",
     "expiresAt",
     "status"
    ],
    "anyOf": [
     {
      "required": [
       "url"
      ]
     },
     {
      "required": [
       "clientSecret"
      ]
     }
    ],
    "properties": {
     "sessionId": {
      "type": "string",
      "description": "The Stripe Checkout Session id."
     },
     "url": {
      "type": "string",
      "description": "Hosted shops: redirect the shopper here."
     },
     "clientSecret": {
      "type": "string",
      "description": "Custom shops: hand to Stripe.js."
     },
     "inventoryReservationId": {
      "type": "string",
      "description": "The hold keeping the stock until `expiresAt`."
     },
     "priceChanged": {
      "type": "boolean",
      "description": "The repriced total drifted from the baseline beyond the tolerance."
     },
     "amountTotal": {
      "$ref": "#/components/schemas/Money"
     },
     "currency": {
      "$ref": "#/components/schemas/Currency"
     },
     "expiresAt": {
      "type": "string",
      "format": "date-time"
     },
     "status": {
      "enum": [
       "open",
       "paid"
      ]
     }
    }
   },
   "Quote": {
    "type": "object",
    "description": "The repriced checkout (in `PRICE_CHANGED`).",
    "required": [
     "currency",
     "lines",
     "subtotal",
     "discount",
     "depositTotal",
     "rentalDays",
     "total"
    ],
    "properties": {
     "currency": {
      "$ref": "#/components/schemas/Currency"
     },
     "lines": {
      "type": "array",
      "items": {
       "type": "object",
       "required": [
        "sku",
        "variantKey",
        "variantAttributes",
        "title",
        "quantity",
        "unitPrice",
        "lineTotal",
        "deposit",
        "depositTotal"
       ],
       "properties": {
        "sku": {
         "type": "string"
        },
        "variantKey": {
         "type": "string"
        },
        "variantAttributes": {
         "type": "object",
         "additionalProperties": {
          "type": "string"
         }
        },
        "title": {
         "type": "string"
        },
        "quantity": {
         "type": "integer",
         "minimum": 1
        },
        "unitPrice": {
         "$ref": "#/components/schemas/Money"
        },
        "lineTotal": {
         "$ref": "#/components/schemas/Money"
        },
        "deposit": {
         "$ref": "#/components/schemas/Money"
        },
        "depositTotal": {
         "$ref": "#/components/schemas/Money"
        }
       }
      }
     },
     "subtotal": {
      "$ref": "#/components/schemas/Money"
     },
     "discount": {
      "$ref": "#/components/schemas/Money"
     },
     "couponCode": {
      "type": [
       "string",
       "null"
      ]
     },
     "depositTotal": {
      "$ref": "#/components/schemas/Money"
     },
     "rentalDays": {
      "type": "integer",
      "minimum": 0,
      "maximum": 90
     },
     "total": {
      "$ref": "#/components/schemas/Money"
     }
    }
   },
   "OrderStatus": {
    "type": "object",
    "required": [
     "sessionId",
     "status",
     "amountTotal",
     "currency",
     "lines",
     "depositTotal"
    ],
    "properties": {
     "sessionId": {
      "type": "string"
     },
     "status": {
      "enum": [
       "pending",
       "paid",
       "expired",
       "failed"
      ]
     },
     "orderId": {
      "type": "string",
      "description": "Present once `paid`."
     },
     "amountTotal": {
      "$ref": "#/components/schemas/Money"
     },
     "currency": {
      "$ref": "#/components/schemas/Currency"
     },
     "lines": {
      "type": "array",
      "description": "The repriced lines of the checkout.",
      "items": {
       "type": "object",
       "required": [
        "sku",
        "title",
        "variantAttributes",
        "quantity",
        "lineTotal"
       ],
       "properties": {
        "sku": {
         "type": "string"
        },
        "title": {
         "type": "string"
        },
        "variantAttributes": {
         "type": "object",
         "additionalProperties": {
          "type": "string"
         }
        },
        "quantity": {
         "type": "integer",
         "minimum": 1
        },
        "lineTotal": {
         "$ref": "#/components/schemas/Money"
        }
       }
      }
     },
     "depositTotal": {
      "$ref": "#/components/schemas/Money"
     }
    }
   },
   "StripeEvent": {
    "type": "object",
    "description": "A Stripe event as Stripe sends it (only the fields the origin reads are listed).",
    "required": [
     "id",
     "type",
     "data"
    ],
    "properties": {
     "id": {
      "type": "string"
     },
     "type": {
      "type": "string"
     },
     "data": {
      "type": "object",
      "required": [
       "object"
      ],
      "properties": {
       "object": {
        "type": "object"
       }
      }
     }
    }
   },
   "ReadinessChecks": {
    "type": "object",
    "required": [
     "origin",
     "rateLimit"
    ],
    "properties": {
     "origin": {
      "type": "object",
      "required": [
       "reachable"
      ],
      "properties": {
       "reachable": {
        "type": "boolean"
       }
      }
     },
     "rateLimit": {
      "type": "object",
      "required": [
       "backend",
       "reachable"
      ],
      "properties": {
       "backend": {
        "enum": [
         "redis",
         "memory"
        ]
       },
       "reachable": {
        "type": "boolean"
       },
       "breaker": {
        "type": "string"
       },
       "failureMode": {
        "enum": [
         "fallback",
         "open",
         "closed"
        ]
       },
       "degraded": {
        "type": "boolean"
       }
      }
     }
    }
   }
  }
 }
};
