"""Permissions-Policy header: the catalogue uses no device, sensor nor payment API.

Django 5.2 has no setting for this header. Denying every powerful feature means that even a
script injected despite the Content-Security-Policy could not ask for the camera or the
location, and that no embedded third party could either.
"""

# Only features Chromium recognises: it logs an error for each unknown name. The FLoC opt-out
# `interest-cohort` is gone from browsers; `browsing-topics` is its successor (Topics API).
DENIED_FEATURES = (
    "accelerometer",
    "autoplay",
    "browsing-topics",
    "camera",
    "display-capture",
    "encrypted-media",
    "geolocation",
    "gyroscope",
    "hid",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "picture-in-picture",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)

PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DENIED_FEATURES)


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response
