{#-
    KRX's own published ratios (the vendor's PER, PBR, EPS, BPS, DPS, dividend yield) per
    ticker and day, with valid_to (the ticker's next ratio day) for as-of joins: the
    screener shows the latest ratios published on or before its session, with their date.
-#}
{{ config(
    indexes=postgres_indexes([{'columns': ['ticker', 'trade_date'], 'unique': true}])
) }}

with

vendor as (

    select * from {{ ref('stg_krx__vendor_valuation') }}

),

final as (

    select
        ticker,
        trade_date,
        lead(trade_date) over (partition by ticker order by trade_date) as valid_to,
        company_name,
        close,
        per,
        pbr,
        eps,
        bps,
        dps,
        dividend_yield,
        cast('krx_vendor' as varchar) as ratio_source,
        screen,
        source_file

    from vendor

)

select * from final
