"""What every channel Meta delivers to shares: the app's settings, the signature on each
delivery, the Graph API's errors, and the Messenger Platform (Instagram and Messenger:
``entry[].messaging[]`` deliveries and the Send API)."""
