"""Settings for the O2C suite.

Embedded by default (SQLite in WAL mode and kombu's filesystem broker under var/), so the
project runs on one machine with nothing else installed. DATABASE_URL and REDIS_URL (or
CELERY_BROKER_URL) switch to PostgreSQL and Redis, which is how it is deployed and tested.
Production hardening is switched on by DJANGO_ENV=production (see README "Running in production").
"""

import datetime
import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("O2C_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PRODUCTION = os.environ.get("DJANGO_ENV") == "production"
DEBUG = env_bool("DJANGO_DEBUG", not PRODUCTION)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "" if PRODUCTION else "dev-only-not-secret-o2c")
if PRODUCTION and not SECRET_KEY:
    raise RuntimeError("DJANGO_SECRET_KEY must be set when DJANGO_ENV=production.")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_celery_beat",
    "axes",  # sign-in lockout after repeated failures
    "django_otp",
    "django_otp.plugins.otp_totp",  # two-factor authentication with an authenticator app
    "o2c",  # top layer: management commands that call o2c.flow (seed_demo)
    "o2c.core",
    "orders",
    "fulfillment",
    "invoicing",
    "receivables",
    "credit",
    "reporting",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "o2c.core.audit.AuditContextMiddleware",
    "o2c.security.RequireOTPMiddleware",
    "portal.middleware.PortalBoundaryMiddleware",  # portal users reach the portal only; idle expiry
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "o2c.urls"
WSGI_APPLICATION = "o2c.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "o2c.core.context_processors.navigation",
            ],
            "builtins": ["o2c.core.templatetags.urls"],  # {% url %} reversing each pattern once
        },
    },
]

# --- database: PostgreSQL when DATABASE_URL is set, else embedded SQLite ------------------
if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": dj_database_url.config(conn_max_age=60, conn_health_checks=True)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The reports are index-driven statements of tens of milliseconds: compiling them with JIT
        # (on by default since PostgreSQL 12) costs more than it saves (40 ms on the quality figures).
        DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c jit=off"
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "o2c.sqlite3",
            "OPTIONS": {
                # WAL lets the web process read while the worker writes; IMMEDIATE takes the
                # write lock at BEGIN so two writers queue instead of failing with "locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Celery: Redis when configured, else kombu's filesystem transport under var/ ----------
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL) or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _queue_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_queue_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "queue"),
        "data_folder_out": str(_queue_dir / "queue"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
    }
else:
    # A killed worker's unacked task comes back after this many seconds (RELIABILITY.md §5).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True  # progress and outcomes live in PostgreSQL, not the backend
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Europe/Brussels"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {  # synced into django_celery_beat's tables when beat starts
    "ledger-integrity-nightly": {
        "task": "receivables.tasks.check_ledger_integrity",
        "schedule": crontab(hour=2, minute=0),
    },
    "small-balances-nightly": {
        "task": "receivables.tasks.write_off_small_balances",
        "schedule": crontab(hour=1, minute=45),
    },
    "ar-snapshot-nightly": {"task": "reporting.tasks.take_ar_snapshot", "schedule": crontab(hour=2, minute=30)},
    "order-quality-refresh": {  # perfect-order checks of the orders touched since the last run
        "task": "reporting.tasks.refresh_order_quality",
        "schedule": crontab(minute="*/10"),
    },
    "order-quality-full": {  # Sunday night: every shipped order again (a changed requested date, a deletion)
        "task": "reporting.tasks.refresh_order_quality",
        "schedule": crontab(hour=3, minute=30, day_of_week="sun"),
        "kwargs": {"full": True},
    },
    "cycle-facts-refresh": {  # cycle-time facts of the documents touched since the last run
        "task": "reporting.tasks.refresh_cycle_facts",
        "schedule": crontab(minute="*/10"),
    },
    "cycle-facts-full": {  # Sunday night: every document again (a changed order date, a deletion)
        "task": "reporting.tasks.refresh_cycle_facts",
        "schedule": crontab(hour=3, minute=40, day_of_week="sun"),
        "kwargs": {"full": True},
    },
    "stock-ledger-nightly": {"task": "fulfillment.tasks.check_stock_ledger", "schedule": crontab(hour=2, minute=15)},
    "requeue-stale-work": {  # work whose task never reached a worker (broker down at commit)
        "task": "o2c.tasks.requeue_stale_work",
        "schedule": crontab(minute="*/10"),
    },
    "integrity-nightly": {  # everything at once: ledgers, stock, postings, gapless numbers
        "task": "o2c.tasks.nightly_integrity_check",
        "schedule": crontab(hour=2, minute=45),
    },
    "credit-behaviour-nightly": {
        "task": "credit.tasks.recompute_payment_behaviour",
        "schedule": crontab(hour=3, minute=0),
    },
    "credit-review-weekly": {
        "task": "credit.tasks.list_profiles_for_review",
        "schedule": crontab(hour=4, minute=0, day_of_week=1),
    },
    "cash-reconciliation-nightly": {
        "task": "o2c.tasks.nightly_cash_reconciliation",
        "schedule": crontab(hour=1, minute=30),
    },
    "billing-weekly": {  # Monday 00:30: one invoice per weekly-billed customer, up to Sunday
        "task": "o2c.tasks.run_consolidated_billing",
        "schedule": crontab(hour=0, minute=30, day_of_week=1),
        "args": ("weekly",),
    },
    "billing-monthly": {  # the 1st, 00:45: everything shipped up to the last day of the month before
        "task": "o2c.tasks.run_consolidated_billing",
        "schedule": crontab(hour=0, minute=45, day_of_month=1),
        "args": ("monthly",),
    },
    "cash-forecast-weekly": {
        "task": "reporting.tasks.record_cash_forecast",
        "schedule": crontab(hour=6, minute=0, day_of_week="mon"),
    },
    "reminders-daily": {"task": "o2c.tasks.send_reminders", "schedule": crontab(hour=6, minute=0)},
    "dunning-daily": {"task": "o2c.tasks.run_dunning", "schedule": crontab(hour=6, minute=30)},
    "collector-rules-nightly": {
        "task": "receivables.tasks.apply_collector_rules",
        "schedule": crontab(hour=1, minute=0),
    },
    "promises-daily": {"task": "receivables.tasks.review_promises", "schedule": crontab(hour=5, minute=30)},
    "statements-monthly": {  # the 1st, 06:00: last month's statement to customers who want one
        "task": "receivables.tasks.send_monthly_statements",
        "schedule": crontab(hour=6, minute=0, day_of_month=1),
    },
    "kpi-digest-weekly": {
        "task": "reporting.tasks.send_kpi_digest",
        "schedule": crontab(hour=7, minute=0, day_of_week="mon"),
    },
}
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240

# --- auth, i18n, files ----------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses a locked-out username before the password is checked
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("O2C_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=int(os.environ.get("O2C_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_PROXY_COUNT = int(os.environ.get("O2C_PROXY_COUNT", "0"))  # 1 behind one reverse proxy
OTP_TOTP_ISSUER = "O2C suite"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/Brussels"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = not PRODUCTION  # dev and test serve straight from static/
MEDIA_ROOT = Path(os.environ.get("O2C_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"  # never served directly: documents go through authorised views
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "billing@o2c.example")
# Real SMTP in production: EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and these.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "30"))

# --- the business ------------------------------------------------------------------------------
O2C_COMPANY = {
    "name": os.environ.get("O2C_COMPANY_NAME", "Northwind Supplies NV"),
    "address": "Kunstlaan 1, 1000 Brussels, Belgium",
    "vat_id": "BE0403170701",
    "iban": "BE71096123456769",
    "bic": "GKCCBEBB",
    "email": "ar@northwind.example",
}
O2C_DEFAULT_CURRENCY = "EUR"
# Master data whose every change is kept in the audit trail (o2c/core/audit.py).
O2C_AUDITED_MODELS = [
    "auth.User",
    "auth.Group",
    "orders.Customer",
    "orders.Product",
    "orders.PaymentTerms",
    "credit.CreditProfile",
    "invoicing.BankAccount",
    "fulfillment.Warehouse",
    "fulfillment.Location",
    "fulfillment.Carrier",
    "portal.PortalAccess",
    "portal.InvoiceDeliveryPreference",
    "orders.Address",
    "orders.Contact",
    "orders.PriceList",
    "orders.PriceListItem",
    "orders.ProductPrice",
    "orders.DiscountLimit",
    "credit.CreditPolicy",
    "credit.ExchangeRate",
    "invoicing.Company",
    "invoicing.TaxRate",
    "invoicing.BillingProfile",
    "invoicing.PaymentTermsInstalment",
    "receivables.MatchingRule",
    "receivables.CashApplicationSettings",
    "receivables.CsvMapping",
    "receivables.CollectionsSettings",
    "receivables.ReminderPolicy",
    "receivables.DunningProcedure",
    "receivables.DunningLevel",
    "receivables.DunningBlock",
    "receivables.Collector",
    "receivables.CollectorRule",
    "receivables.StatementPreference",
]
# Fulfilment: competing orders are reserved earliest requested date first, then order date;
# proof-of-delivery uploads (PNG, JPEG or PDF, sniffed by content) are refused above this size.
O2C_RESERVATION_PRIORITY = ("requested_date", "order_date")
O2C_POD_MAX_BYTES = int(os.environ.get("O2C_POD_MAX_BYTES", str(5 * 1024 * 1024)))
# Disputes: resolve-by date this many days after opening (unless given); uploads (PDF, PNG or
# JPEG, sniffed by content) refused above this size.
O2C_DISPUTE_DUE_DAYS = int(os.environ.get("O2C_DISPUTE_DUE_DAYS", "14"))
O2C_DISPUTE_UPLOAD_MAX_BYTES = int(os.environ.get("O2C_DISPUTE_UPLOAD_MAX_BYTES", str(5 * 1024 * 1024)))

# --- the customer portal ------------------------------------------------------------------------
O2C_PUBLIC_URL = os.environ.get("O2C_PUBLIC_URL", "http://localhost:8000").rstrip("/")  # links in emails
O2C_PORTAL_SESSION_IDLE_SECONDS = int(os.environ.get("O2C_PORTAL_SESSION_IDLE_MINUTES", "30")) * 60
O2C_PAY_LINK_MAX_AGE_DAYS = int(os.environ.get("O2C_PAY_LINK_MAX_AGE_DAYS", "45"))  # links in invoice emails
O2C_PORTAL_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
O2C_PORTAL_PAYMENT_PROVIDERS = ["bank_transfer", "test_card"]  # keys of portal.payments.PROVIDERS, in order
O2C_PORTAL_BRANDING = {  # the portal's own look: the company's logo and colours
    "name": O2C_COMPANY["name"],
    "logo": "portal/logo.svg",  # a static file
    "primary": os.environ.get("O2C_PORTAL_PRIMARY_COLOUR", "#0b6e4f"),
    "accent": os.environ.get("O2C_PORTAL_ACCENT_COLOUR", "#f2a541"),
    "support_email": O2C_COMPANY["email"],
}

# --- security: production hardening, from the environment ------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx sends the token from hx-headers on <body>, not the cookie
X_FRAME_OPTIONS = "DENY"
# Scripts only from our own static files: no inline scripts, no eval (htmx runs with
# allowEval off, see base.html). Inline style attributes stay allowed (chart bar widths, htmx's
# indicator styles); they cannot run code. The browser tests fail on any CSP refusal.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_AGE = 8 * 3600

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"weasyprint": {"level": "ERROR"}, "fontTools": {"level": "ERROR"}, "axes": {"level": "WARNING"}},
}
