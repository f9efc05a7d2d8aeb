"""The origin service: carts, repricing, inventory holds, Stripe sessions and webhooks."""
