"""Admin for support staff: the stored key is left out entirely (not even its ciphertext);
keys are set by team owners on the Providers page."""

from django.contrib import admin

from playground.catalog import services
from playground.catalog.models import Provider, ProviderModel


class ProviderModelInline(admin.TabularInline):
    model = ProviderModel
    extra = 0
    fields = ["name", "label", "enabled", "price_input_per_mtok", "price_output_per_mtok"]


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "protocol", "base_url", "key"]
    list_filter = ["protocol", "key_source"]
    search_fields = ["name", "team__name", "base_url"]
    exclude = ["api_key_encrypted"]
    readonly_fields = ["key", "key_updated_at"]
    inlines = [ProviderModelInline]

    @admin.display(description="Key")
    def key(self, provider: Provider) -> str:
        return services.key_status(provider).text


@admin.register(ProviderModel)
class ProviderModelAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "enabled", "price_input_per_mtok", "price_output_per_mtok"]
    list_filter = ["enabled", "provider__protocol"]
    search_fields = ["name", "label", "provider__name"]
