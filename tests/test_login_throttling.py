"""Login throttling of the admin (django-axes with catalogue/login_throttling.py) and the
password policy."""

import datetime

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from catalogue.login_throttling import client_ip_address

LOGIN = reverse("admin:login")
PASSWORD = "correct-cheval-pile-agrafe"
ADDRESS = "203.0.113.7"


@pytest.fixture
def staff(db):
    return User.objects.create_user("editrice", password=PASSWORD, is_staff=True)


def attempt(client, username, password, address=ADDRESS):
    return client.post(
        LOGIN,
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def hashing_calls(monkeypatch):
    """Counts every password hash computed (checking or making a password)."""
    calls = []
    verify, encode = MD5PasswordHasher.verify, MD5PasswordHasher.encode

    def counted_verify(self, password, encoded):
        calls.append("verify")
        return verify(self, password, encoded)

    def counted_encode(self, password, salt):
        calls.append("encode")
        return encode(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "verify", counted_verify)
    monkeypatch.setattr(MD5PasswordHasher, "encode", counted_encode)
    return calls


def test_fifth_wrong_password_locks_the_account_from_that_address(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = attempt(client, "editrice", "mauvais-mot-de-passe")
        assert response.status_code == 200
    response = attempt(client, "editrice", "mauvais-mot-de-passe")
    assert response.status_code == 429
    page = response.content.decode()
    assert "Trop de tentatives de connexion ont échoué" in page
    assert "Réessayez dans 15 minutes" in page
    # The right password no longer opens the session.
    response = attempt(client, "editrice", PASSWORD)
    assert response.status_code == 429
    assert not logged_in(client)


def test_locked_out_attempt_computes_no_password_hash(client, staff, settings, hashing_calls):
    attempt(client, "editrice", "mauvais-mot-de-passe")
    assert "verify" in hashing_calls  # an attempt that is not locked does hash
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "editrice", "mauvais-mot-de-passe")
    hashing_calls.clear()
    recorded = AccessFailureLog.objects.count(), AccessAttempt.objects.get().failures_since_start
    assert attempt(client, "editrice", PASSWORD).status_code == 429
    assert attempt(client, "editrice", "mauvais-mot-de-passe").status_code == 429
    assert hashing_calls == []
    # Nor is anything written: a flood of locked-out attempts does not grow the tables.
    assert (
        AccessFailureLog.objects.count(),
        AccessAttempt.objects.get().failures_since_start,
    ) == recorded
    # Another username from the same address is not locked yet, and is hashed as usual.
    assert attempt(client, "inconnu", "nimporte-quoi").status_code == 200
    assert hashing_calls == ["encode"]


def test_lockout_is_per_address_the_same_account_logs_in_from_elsewhere(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "editrice", "mauvais-mot-de-passe")
    response = attempt(client, "editrice", PASSWORD, address="198.51.100.20")
    assert response.status_code == 302
    assert logged_in(client)


def test_many_usernames_from_one_address_lock_the_address(client, staff, settings):
    per_account = settings.AXES_FAILURE_LIMIT - 1
    usernames = [f"compte{n}" for n in range(settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS)]
    failures = 0
    for username in usernames:
        for _ in range(per_account):
            if failures < settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS - 1:
                assert attempt(client, username, "mauvais").status_code == 200
                failures += 1
    assert attempt(client, "compte-suivant", "mauvais").status_code == 429
    assert attempt(client, "editrice", PASSWORD).status_code == 429
    assert attempt(client, "editrice", PASSWORD, address="198.51.100.20").status_code == 302


def test_lockout_ends_after_the_cool_off(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "editrice", "mauvais-mot-de-passe")
    assert attempt(client, "editrice", PASSWORD).status_code == 429
    past = settings.AXES_COOLOFF_TIME + datetime.timedelta(minutes=1)
    for record in AccessAttempt.objects.all():
        record.attempt_time -= past
        record.save(update_fields=["attempt_time"])
    assert attempt(client, "editrice", PASSWORD).status_code == 302
    assert logged_in(client)


def test_successful_login_forgets_earlier_failures(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "editrice", "mauvais-mot-de-passe")
    assert attempt(client, "editrice", PASSWORD).status_code == 302
    client.logout()
    assert attempt(client, "editrice", "mauvais-mot-de-passe").status_code == 200


def test_staff_unlock_with_the_reset_command(client, staff, settings, capsys):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "editrice", "mauvais-mot-de-passe")
    call_command("axes_reset_username", "editrice")
    assert not AccessAttempt.objects.exists()
    assert attempt(client, "editrice", PASSWORD).status_code == 302


def test_admin_lists_the_failed_attempts_and_lockouts(client, admin_client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "editrice", "mauvais-mot-de-passe")
    assert AccessFailureLog.objects.filter(username="editrice", locked_out=True).count() == 1
    response = admin_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "editrice" in page
    assert ADDRESS in page


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        # No proxy configured: the header is the client's own words and is ignored.
        ([], "203.0.113.7", "198.51.100.1", "203.0.113.7"),
        # The request did not come through the proxy: same.
        (["10.0.0.2"], "203.0.113.7", "198.51.100.1", "203.0.113.7"),
        # Through the proxy: the address it appended, not what the client wrote before it.
        (["10.0.0.2"], "10.0.0.2", "1.2.3.4, 198.51.100.1", "198.51.100.1"),
        # Two proxies (a network given as CIDR), read from the right.
        (["10.0.0.0/8"], "10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", "198.51.100.1"),
        # Garbage where the proxy writes: counted under the proxy's address.
        (["10.0.0.2"], "10.0.0.2", "not-an-address", "10.0.0.2"),
        (["10.0.0.2"], "10.0.0.2", "", "10.0.0.2"),
        (["::1"], "::1", "2001:db8::5", "2001:db8::5"),
    ],
)
def test_client_address_behind_a_reverse_proxy(settings, trusted, remote, forwarded, expected):
    import ipaddress

    settings.TRUSTED_PROXIES = [ipaddress.ip_network(item) for item in trusted]
    request = RequestFactory().post(LOGIN, REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip_address(request) == expected


def test_failures_behind_the_proxy_count_per_client(client, staff, settings):
    import ipaddress

    settings.TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.2")]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            LOGIN,
            {"username": "editrice", "password": "mauvais"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="198.51.100.1",
        )
    other_client = client.post(
        LOGIN,
        {"username": "editrice", "password": PASSWORD, "next": "/admin/"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="192.0.2.44",
    )
    assert other_client.status_code == 302


def test_passwords_need_twelve_characters(db):
    user = User(username="editrice")
    with pytest.raises(ValidationError) as error:
        validate_password("Kz7#pq2!Lm9", user)  # 11 characters
    assert "au minimum 12 caractères" in " ".join(error.value.messages)
    validate_password("Kz7#pq2!Lm9x", user)  # 12: accepted
