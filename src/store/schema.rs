// One portable schema for both backends: BigInt ids, Text, Timestamp (UTC), Bool, Double.

diesel::table! {
    segments (id) {
        id -> BigInt,
        key -> Text,
        name -> Text,
        description -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    initiatives (id) {
        id -> BigInt,
        key -> Text,
        name -> Text,
        kind -> Text,
        hypothesis -> Text,
        owner_team -> Text,
        price_cents -> BigInt,
        currency -> Text,
        core_segments -> Text,
        variants -> Text,
        target_preorder_rate -> Double,
        target_love_share -> Nullable<Double>,
        confidence -> Double,
        min_exposures -> BigInt,
        planned_exposures -> BigInt,
        mode -> Text,
        status -> Text,
        fingerprint -> Nullable<Text>,
        decision -> Nullable<Text>,
        decision_note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        launched_at -> Nullable<Timestamp>,
        concluded_at -> Nullable<Timestamp>,
        min_full_cents -> Nullable<BigInt>,
        min_deposit_cents -> Nullable<BigInt>,
        backfill_from -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        initiative_id -> BigInt,
        event_id -> Text,
        event_type -> Text,
        customer_id -> Text,
        occurred_at -> Timestamp,
        received_at -> Timestamp,
        segment -> Nullable<Text>,
        variant -> Nullable<Text>,
        amount_cents -> Nullable<BigInt>,
        currency -> Nullable<Text>,
        sentiment -> Nullable<Text>,
        preorder_kind -> Nullable<Text>,
    }
}

diesel::table! {
    customers (initiative_id, customer_id) {
        initiative_id -> BigInt,
        customer_id -> Text,
        segment -> Text,
        variant -> Text,
        first_exposed_at -> Timestamp,
        active_cents -> BigInt,
        cancelled -> Bool,
        sentiment -> Nullable<Text>,
        sentiment_at -> Nullable<Timestamp>,
        money_down -> Bool,
        paid -> Bool,
    }
}

diesel::table! {
    aggregate_cells (initiative_id, segment, variant, sentiment, preordered) {
        initiative_id -> BigInt,
        segment -> Text,
        variant -> Text,
        sentiment -> Nullable<Text>,
        preordered -> Bool,
        customers -> BigInt,
        cancelled -> BigInt,
        revenue_cents -> BigInt,
        revenue_sq_cents -> Double,
        money_down -> BigInt,
        paid -> BigInt,
    }
}

diesel::table! {
    daily_counts (initiative_id, day) {
        initiative_id -> BigInt,
        day -> Text,
        exposures -> BigInt,
        preorders -> BigInt,
    }
}

diesel::joinable!(events -> initiatives (initiative_id));
diesel::joinable!(customers -> initiatives (initiative_id));
diesel::joinable!(aggregate_cells -> initiatives (initiative_id));
diesel::joinable!(daily_counts -> initiatives (initiative_id));
diesel::joinable!(decisions -> initiatives (initiative_id));

diesel::joinable!(sessions -> api_keys (key_id));
diesel::joinable!(invites -> users (user_id));
diesel::joinable!(user_teams -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_keys,
    users,
    user_teams,
    invites,
    sessions,
    segments,
    initiatives,
    events,
    customers,
    aggregate_cells,
    daily_counts,
    decisions,
    audit_log,
    webhooks,
    webhook_deliveries,
    webhook_attempts,
    webhook_state,
);

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        label -> Text,
        role -> Text,
        team -> Nullable<Text>,
        key_hash -> Text,
        key_prefix -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        key_id -> Nullable<BigInt>,
        user_id -> Nullable<BigInt>,
        kind -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    decisions (id) {
        id -> BigInt,
        initiative_id -> BigInt,
        decision -> Text,
        note -> Text,
        override_reason -> Nullable<Text>,
        against_evidence -> Bool,
        verdict -> Text,
        snapshot -> Text,
        decided_by -> Text,
        decided_by_key_id -> Nullable<BigInt>,
        decided_at -> Timestamp,
        decided_by_user_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Nullable<Text>,
        created_at -> Timestamp,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_teams (user_id, team) {
        user_id -> BigInt,
        team -> Text,
    }
}

diesel::table! {
    invites (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        recorded_at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<BigInt>,
        actor_name -> Text,
        action -> Text,
        target_type -> Text,
        target_id -> Text,
        before_json -> Nullable<Text>,
        after_json -> Nullable<Text>,
    }
}

diesel::table! {
    inbox (id) {
        id -> BigInt,
        provider -> Text,
        external_id -> Text,
        kind -> Text,
        initiative -> Nullable<Text>,
        status -> Text,
        reason -> Text,
        payload -> Text,
        received_at -> Timestamp,
        attempts -> BigInt,
        last_attempt_at -> Timestamp,
        result -> Nullable<Text>,
        replayed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    survey_mappings (initiative_id) {
        initiative_id -> BigInt,
        form_id -> Text,
        sentiment_ref -> Text,
        customer_field -> Text,
        segment_field -> Nullable<Text>,
        choices -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        url -> Text,
        event_types -> Text,
        initiative_key -> Nullable<Text>,
        team -> Nullable<Text>,
        format -> Text,
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        message_id -> Text,
        event_type -> Text,
        initiative_key -> Nullable<Text>,
        body -> Text,
        state -> Text,
        attempts -> Integer,
        created_at -> Timestamp,
        next_attempt_at -> Timestamp,
        lease_token -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        attempt -> Integer,
        started_at -> Timestamp,
        status_code -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_state (initiative_id) {
        initiative_id -> BigInt,
        verdict -> Text,
        srm -> Bool,
        plan_reached -> Bool,
    }
}

diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
