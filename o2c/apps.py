from django.apps import AppConfig


class O2CConfig(AppConfig):
    name = "o2c"
    verbose_name = "O2C suite"

    def ready(self):
        from . import security  # noqa: F401  (connects the sign-in signal receiver)
