"""REST API of the workforce app: a contractor's own data under /me/, and the staff review queue."""
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import django_filters
from django import forms
from django.conf import settings
from django.contrib.auth import logout
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django_countries import countries
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import own_contractor
from common.http import client_ip
from common.parsers import BoundedJSONParser
from common.permissions import staff_permission
from common.roles import DECIDE_APPLICANTS
from common.validators import validate_printable
from workforce import validation
from workforce.models import Agreement, Contractor, OnboardingState, OnboardingTransition, PayoutMethod
from workforce.onboarding import REASON_MAX_LENGTH
from workforce.selectors.agreements import current_agreements, pending_agreements
from workforce.selectors.applicants import applicant_list, counts_by_country, counts_by_state
from workforce.selectors.profile import PROFILE_FIELDS, profile_missing
from workforce.selectors.standing import next_step
from workforce.services.agreements import agreements_accept
from workforce.services.decisions import STAFF_ACTIONS, contractor_decide, contractor_start_working, contractors_decide
from workforce.services.privacy import contractor_data_export, contractor_delete
from workforce.services.profile import payout_release, profile_update, tax_declare

COUNTRY_CHOICES = list(countries)
LANGUAGE_CHOICES = sorted(validation.LANGUAGE_CODES)
STAFF_ACTION_CHOICES = list(STAFF_ACTIONS)


def _own_contractor(request: Request) -> Contractor:
    return own_contractor(  # type: ignore[return-value]
        request, staff_use="/api/v1/contractors/")


def _text(max_length: int, **kwargs: Any) -> serializers.CharField:
    """Text a person types: any script, no control characters (newlines, NUL, bidi overrides)."""
    return serializers.CharField(max_length=max_length, validators=[validate_printable], **kwargs)


@extend_schema_field({"type": "string", "pattern": "^[A-Z]{2}$", "example": "BR"})
class CountryCodeField(serializers.CharField):
    """An ISO 3166 alpha-2 country code, checked by the rule the pages use too."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=2, validators=[validation.validate_country], **kwargs)


# --- shared output ------------------------------------------------------------------------

class NextStepOutputSerializer(serializers.Serializer):
    text = serializers.CharField()
    url = serializers.CharField(allow_null=True)
    action = serializers.CharField(allow_null=True)


class AgreementBriefOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()


class ProfileOutputSerializer(serializers.Serializer):
    """The contractor as they and staff see it; the profile fields are the ones PUT and PATCH take."""

    id = serializers.IntegerField()
    email = serializers.EmailField(source="user.email")
    state = serializers.ChoiceField(choices=OnboardingState.choices)
    state_label = serializers.CharField(source="get_state_display")
    state_reason = serializers.CharField()
    state_changed_at = serializers.DateTimeField()
    legal_name = serializers.CharField()
    display_name = serializers.CharField()
    country = serializers.CharField(help_text="ISO 3166 code; empty until given.")
    timezone = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    hours_available_per_week = serializers.IntegerField(allow_null=True)
    payout_method = serializers.CharField()
    payout_email = serializers.CharField()
    date_of_birth = serializers.DateField(allow_null=True)
    payout_held_until = serializers.DateTimeField(allow_null=True, help_text="A payout change holds the next payout "
                                                                             "until then, unless staff release it.")
    held_for_review = serializers.SerializerMethodField(help_text="True: held for staff review as a possible second "
                                                                  "account of one person; no batches, no pay.")
    qualification_score = serializers.DecimalField(max_digits=5, decimal_places=4, allow_null=True)


    def get_held_for_review(self, contractor: Contractor) -> bool:
        return bool(contractor.link_evidence)


class StaffTransitionOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    contractor = serializers.IntegerField(source="contractor_id")
    from_state = serializers.CharField()
    to_state = serializers.CharField()
    reason = serializers.CharField()
    actor = serializers.EmailField(source="actor.email", allow_null=True,
                                   help_text="Who made the change; null when the system did.")
    created_at = serializers.DateTimeField()


def _newest_first(transitions: QuerySet[OnboardingTransition]) -> QuerySet[OnboardingTransition]:
    return transitions.order_by("-created_at", "-id")


# --- the contractor's own data --------------------------------------------------------------

class MeApi(APIView):
    """The logged-in contractor's profile, state and what they must do next."""

    # PATCH merges the body into the stored profile, so the body must be a JSON object (a form
    # body would lose all but one of the languages).
    parser_classes = [BoundedJSONParser]

    class ProfileInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ProfileInput"

        legal_name = _text(validation.NAME_MAX_LENGTH, help_text="As on your ID. Any script.")
        display_name = _text(100)
        country = CountryCodeField(help_text="ISO 3166 code, e.g. BR.")
        timezone = serializers.CharField(max_length=64, validators=[validation.validate_timezone],
                                         help_text="IANA time zone, e.g. Europe/Berlin.")
        languages = serializers.ListField(child=serializers.ChoiceField(choices=LANGUAGE_CHOICES), allow_empty=False,
                                          max_length=len(LANGUAGE_CHOICES), help_text="ISO 639-1 codes.")
        hours_available_per_week = serializers.IntegerField(min_value=1, max_value=settings.DEFAULT_WEEKLY_CAP_HOURS)
        payout_method = serializers.ChoiceField(choices=PayoutMethod.choices)
        payout_email = serializers.EmailField(max_length=254)
        date_of_birth = serializers.DateField(validators=[validation.validate_adult])
        current_password = serializers.CharField(
            required=False, write_only=True, trim_whitespace=False, max_length=4096,
            help_text="Required to change the payout method or email once given. The change is recorded, the old "
                      "and the new address are emailed and the next payout is held for 72 hours.")

    class MeOutputSerializer(ProfileOutputSerializer):
        class Meta:
            ref_name = "Me"

        next_step = serializers.SerializerMethodField()
        missing_profile_fields = serializers.SerializerMethodField()
        pending_agreements = serializers.SerializerMethodField()

        @extend_schema_field(NextStepOutputSerializer)
        def get_next_step(self, contractor: Contractor) -> dict[str, Any]:
            return NextStepOutputSerializer(next_step(contractor)).data

        def get_missing_profile_fields(self, contractor: Contractor) -> list[str]:
            return profile_missing(contractor)

        @extend_schema_field(AgreementBriefOutputSerializer(many=True))
        def get_pending_agreements(self, contractor: Contractor) -> list[dict[str, Any]]:
            return AgreementBriefOutputSerializer(pending_agreements(contractor), many=True).data

    @extend_schema(responses=MeOutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(self.MeOutputSerializer(_own_contractor(request)).data)

    @extend_schema(request=ProfileInputSerializer, responses=MeOutputSerializer)
    def put(self, request: Request) -> Response:
        return self._update(request, data=request.data)

    @extend_schema(request=ProfileInputSerializer, responses=MeOutputSerializer,
                   description="Fields left out keep their stored values; the result must be a complete profile.")
    def patch(self, request: Request) -> Response:
        if not isinstance(request.data, Mapping):
            raise ValidationError({"non_field_errors": ["Send a JSON object."]})
        contractor = _own_contractor(request)
        stored = {name: getattr(contractor, name) for name in PROFILE_FIELDS}
        stored["country"] = stored["country"].code if stored["country"] else ""
        # Empty stored fields are left out, so a PATCH that does not fill them is refused naming them.
        stored = {name: value for name, value in stored.items() if value not in (None, "", [])}
        return self._update(request, data={**stored, **request.data}, contractor=contractor)

    def _update(self, request: Request, *, data: Any, contractor: Contractor | None = None) -> Response:
        contractor = contractor or _own_contractor(request)
        serializer = self.ProfileInputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        profile_update(contractor=contractor, timezone_name=fields.pop("timezone"), ip_address=client_ip(request),
                       **fields)
        return Response(self.MeOutputSerializer(contractor).data)


class MeTaxDeclarationApi(APIView):
    class TaxDeclarationInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TaxDeclarationInput"

        is_us_person = serializers.BooleanField()
        legal_name = _text(validation.NAME_MAX_LENGTH)
        country_of_residence = CountryCodeField()
        signature = _text(validation.NAME_MAX_LENGTH, help_text="Your legal name again, to sign.")
        certified = serializers.BooleanField(help_text="Must be true: the information is certified as true.")

    class TaxDeclarationOutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TaxDeclaration"

        id = serializers.IntegerField()
        form = serializers.CharField()
        legal_name = serializers.CharField()
        country_of_residence = serializers.CharField()
        is_us_person = serializers.BooleanField()
        declared_at = serializers.DateTimeField()

    @extend_schema(request=TaxDeclarationInputSerializer, responses={201: TaxDeclarationOutputSerializer})
    def post(self, request: Request) -> Response:
        contractor = _own_contractor(request)
        serializer = self.TaxDeclarationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        declaration = tax_declare(contractor=contractor, ip_address=client_ip(request),
                                           **serializer.validated_data)
        return Response(self.TaxDeclarationOutputSerializer(declaration).data, status=status.HTTP_201_CREATED)


class MeAgreementsApi(APIView):
    """The current version of each agreement, and whether the contractor has accepted it."""

    class AgreementOutputSerializer(AgreementBriefOutputSerializer):
        class Meta:
            ref_name = "Agreement"

        body = serializers.CharField()
        published_at = serializers.DateTimeField()
        accepted = serializers.SerializerMethodField()

        def get_accepted(self, agreement: Agreement) -> bool:
            return agreement.pk not in self.context["pending_ids"]

    @extend_schema(responses=AgreementOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        contractor = _own_contractor(request)
        pending_ids = {agreement.pk for agreement in pending_agreements(contractor)}
        serializer = self.AgreementOutputSerializer(current_agreements(), many=True,
                                                    context={"pending_ids": pending_ids})
        return Response(serializer.data)


class MeAgreementsAcceptApi(APIView):
    class AcceptInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AgreementAcceptInput"

        agreements = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False,
                                           max_length=50, help_text="Ids of current versions awaiting acceptance.")

    class AcceptanceOutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AgreementAcceptance"

        agreement = AgreementBriefOutputSerializer()
        accepted_at = serializers.DateTimeField()

    @extend_schema(request=AcceptInputSerializer, responses={201: AcceptanceOutputSerializer(many=True)})
    def post(self, request: Request) -> Response:
        contractor = _own_contractor(request)
        serializer = self.AcceptInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        accepted = agreements_accept(
            contractor=contractor, agreement_ids=serializer.validated_data["agreements"],
            ip_address=client_ip(request), user_agent=request.headers.get("user-agent", ""),
        )
        return Response(self.AcceptanceOutputSerializer(accepted, many=True).data, status=status.HTTP_201_CREATED)


class MeTransitionsApi(generics.ListAPIView):
    """The contractor's own audit trail, newest first. Staff actors are not named to contractors."""

    class OwnTransitionOutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OwnTransition"

        from_state = serializers.CharField()
        to_state = serializers.CharField()
        reason = serializers.CharField()
        created_at = serializers.DateTimeField()

    queryset = OnboardingTransition.objects.none()  # the model, for the schema; the rows come from get_queryset
    serializer_class = OwnTransitionOutputSerializer

    def get_queryset(self) -> QuerySet[OnboardingTransition]:
        return _newest_first(_own_contractor(self.request).transitions.all())


class MeExportApi(APIView):
    """Everything LabelCrew holds about the contractor, as a JSON file to download."""

    renderer_classes = [JSONRenderer]

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        data = contractor_data_export(contractor=_own_contractor(request))
        filename = f"labelcrew-my-data-{timezone.now():%Y-%m-%d}.json"
        return Response(data, headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                       "Cache-Control": "private, no-store"})


class MeDeletionApi(APIView):
    """Close the account and anonymize it; the session ends with it."""

    class DeletionInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "DeletionInput"

        confirm = serializers.BooleanField(help_text="Must be true.")

        def validate_confirm(self, value: bool) -> bool:
            if not value:
                raise serializers.ValidationError("Send true to confirm: deletion cannot be undone.")
            return value

    @extend_schema(request=DeletionInputSerializer, responses={204: None})
    def post(self, request: Request) -> Response:
        contractor = _own_contractor(request)
        serializer = self.DeletionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contractor_delete(contractor=contractor)
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeStartWorkingApi(APIView):
    @extend_schema(request=None, responses=MeApi.MeOutputSerializer)
    def post(self, request: Request) -> Response:
        contractor = contractor_start_working(contractor=_own_contractor(request))
        return Response(MeApi.MeOutputSerializer(contractor).data)


# --- staff ----------------------------------------------------------------------------------

@extend_schema_field(OpenApiTypes.INT)
class WholeNumberFilter(django_filters.NumberFilter):
    field_class = forms.IntegerField


class ContractorFilter(django_filters.FilterSet):
    """Reads and checks the list's query; applicant_list, shared with the staff pages, filters."""

    state = django_filters.ChoiceFilter(choices=OnboardingState.choices)
    country = django_filters.ChoiceFilter(choices=COUNTRY_CHOICES)
    min_hours = WholeNumberFilter(min_value=0, max_value=168, help_text="Hours per week at least.")
    max_hours = WholeNumberFilter(min_value=0, max_value=168, help_text="Hours per week at most.")
    min_score = django_filters.NumberFilter(min_value=0, max_value=1, help_text="Qualification score at least.")
    search = django_filters.CharFilter(max_length=100, help_text="Part of the email, legal or display name.")

    def filter_queryset(self, queryset: QuerySet[Contractor]) -> QuerySet[Contractor]:
        return applicant_list(**self.form.cleaned_data)


class StaffContractorOutputSerializer(ProfileOutputSerializer):
    class Meta:
        ref_name = "StaffContractor"

    has_tax_declaration = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class ContractorListApi(generics.ListAPIView):
    """Contractors who have not deleted their account, most recently changed first."""

    permission_classes = [staff_permission(DECIDE_APPLICANTS)]
    queryset = Contractor.objects.none()  # the model, for the schema; the rows come from the selector
    serializer_class = StaffContractorOutputSerializer
    filterset_class = ContractorFilter

    def get_queryset(self) -> QuerySet[Contractor]:
        return applicant_list()


class ContractorDetailApi(generics.RetrieveAPIView):
    permission_classes = [staff_permission(DECIDE_APPLICANTS)]
    queryset = Contractor.objects.none()
    serializer_class = StaffContractorOutputSerializer

    def get_queryset(self) -> QuerySet[Contractor]:
        return applicant_list()


class ContractorCountsApi(APIView):
    permission_classes = [staff_permission(DECIDE_APPLICANTS)]
    class CountsOutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "ContractorCounts"

        by_state = serializers.DictField(child=serializers.IntegerField())
        by_country = serializers.ListField(
            child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
            help_text="[country code, number of contractors], most first.",
        )

    @extend_schema(responses=CountsOutputSerializer)
    def get(self, request: Request) -> Response:
        counts = {"by_state": counts_by_state(),
                  "by_country": [[code, n] for code, n in counts_by_country()]}
        return Response(counts)


class DecisionInputSerializer(serializers.Serializer):
    class Meta:
        ref_name = "DecisionInput"

    action = serializers.ChoiceField(choices=STAFF_ACTION_CHOICES)
    reason = _text(REASON_MAX_LENGTH, required=False, allow_blank=True, default="",
                   help_text="Required to reject or pause; the contractor reads it.")


class ContractorTransitionsApi(generics.ListAPIView):
    """One contractor's audit trail (GET), and a staff decision that moves them on (POST)."""

    permission_classes = [staff_permission(DECIDE_APPLICANTS)]
    queryset = OnboardingTransition.objects.none()
    serializer_class = StaffTransitionOutputSerializer

    class ContractorDecisionInputSerializer(DecisionInputSerializer):
        class Meta:
            ref_name = "ContractorDecisionInput"

        qualification_score = serializers.DecimalField(max_digits=5, decimal_places=4, min_value=Decimal(0),
                                                       max_value=Decimal(1), required=False, allow_null=True)

    def get_queryset(self) -> QuerySet[OnboardingTransition]:
        contractor = get_object_or_404(Contractor, pk=self.kwargs["pk"])
        return _newest_first(contractor.transitions.select_related("actor"))

    @extend_schema(request=ContractorDecisionInputSerializer, responses={201: StaffTransitionOutputSerializer})
    def post(self, request: Request, pk: int) -> Response:
        contractor = get_object_or_404(Contractor.objects.select_related("user"), pk=pk)
        serializer = self.ContractorDecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contractor_decide(contractor=contractor, actor=request.user, **serializer.validated_data)
        record = _newest_first(contractor.transitions.select_related("actor")).first()
        return Response(StaffTransitionOutputSerializer(record).data, status=status.HTTP_201_CREATED)


class ContractorPayoutReleaseApi(APIView):
    """Staff release a contractor's held payout: the 72 hours after a payout change, or a linked-account review."""

    permission_classes = [staff_permission(DECIDE_APPLICANTS)]

    @extend_schema(request=None, responses=ProfileOutputSerializer)
    def post(self, request: Request, pk: int) -> Response:
        contractor = get_object_or_404(Contractor.objects.select_related("user"), pk=pk)
        payout_release(contractor=contractor, actor=request.user)
        return Response(ProfileOutputSerializer(contractor).data)


class ContractorBulkDecideApi(APIView):
    """One decision for many contractors: all of them change, or none does."""

    permission_classes = [staff_permission(DECIDE_APPLICANTS)]
    class BulkDecisionInputSerializer(DecisionInputSerializer):
        class Meta:
            ref_name = "BulkDecisionInput"

        contractors = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False,
                                            max_length=500)

    class BulkDecisionOutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "BulkDecision"

        decided = serializers.IntegerField(help_text="How many contractors changed state.")

    @extend_schema(request=BulkDecisionInputSerializer, responses=BulkDecisionOutputSerializer)
    def post(self, request: Request) -> Response:
        serializer = self.BulkDecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        decided = contractors_decide(contractor_ids=data["contractors"], action=data["action"],
                                              actor=request.user, reason=data["reason"])
        return Response(self.BulkDecisionOutputSerializer({"decided": decided}).data)


class TransitionFilter(django_filters.FilterSet):
    class Meta:
        model = OnboardingTransition
        fields = ["contractor", "to_state"]


class TransitionListApi(generics.ListAPIView):
    """Every state change of every contractor, newest first."""

    permission_classes = [staff_permission(DECIDE_APPLICANTS)]
    queryset = OnboardingTransition.objects.none()
    serializer_class = StaffTransitionOutputSerializer
    filterset_class = TransitionFilter

    def get_queryset(self) -> QuerySet[OnboardingTransition]:
        return _newest_first(OnboardingTransition.objects.select_related("actor"))
