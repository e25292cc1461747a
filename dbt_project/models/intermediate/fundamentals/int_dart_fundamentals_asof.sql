{#-
    DART annual figures point in time: one row per company (ticker) and fiscal year, valid
    from available_from (period_end + 90 calendar days) until the next fiscal year's
    available_from. The files carry no filing dates; Korean listed companies must file the
    annual report (사업보고서) within 90 days of the fiscal year end (Financial Investment
    Services and Capital Markets Act, art. 159), so a fiscal year is taken as known from the
    90th day after its end: 2021-12-31 + 90 = 2022-03-31.
    Per-share figures: EPS is basic EPS as filed; the files have no share count, so shares
    are derived from the same year's filing as net income to owners / basic EPS (the
    weighted-average share count behind EPS) and BPS = total equity / those shares.
    Money KRW, per share KRW, ratios fractions.
-#}

{%- set filing_lag_days = 90 -%}

with

accounts as (

    select * from {{ ref('stg_dart__key_accounts') }}

),

with_previous as (

    select
        *,
        lag(fiscal_year) over by_company as previous_fiscal_year,
        lag(revenue) over by_company as previous_row_revenue,
        lag(total_equity) over by_company as previous_row_total_equity

    from accounts
    window by_company as (partition by ticker order by fiscal_year)

),

availability as (

    select
        *,
        period_end + {{ filing_lag_days }} as available_from,
        -- a previous year's figures only when that year is the one just before
        case when previous_fiscal_year = fiscal_year - 1 then previous_row_revenue end as previous_revenue,
        case when previous_fiscal_year = fiscal_year - 1 then previous_row_total_equity end
            as previous_total_equity

    from with_previous

),

shares as (

    select
        *,
        lead(available_from) over (partition by ticker order by fiscal_year) as valid_to,
        case
            when net_income_owners <> 0 and eps_basic <> 0
                and (net_income_owners > 0) = (eps_basic > 0)
                then net_income_owners / eps_basic
        end as shares_derived,
        case
            when eps_basic is null then 'no basic EPS in the DART file'
            when net_income_owners is null then 'no net income to owners in the DART file'
            when net_income_owners = 0 or eps_basic = 0 then 'net income to owners or basic EPS is zero'
            when (net_income_owners > 0) <> (eps_basic > 0)
                then 'net income to owners and basic EPS have opposite signs'
        end as shares_null_reason,
        (total_equity + previous_total_equity) / 2 as average_equity

    from availability

),

final as (

    select
        ticker,
        corp_code,
        corp_name,
        market,
        fiscal_year,
        period_end,
        available_from,
        valid_to,
        revenue,
        previous_revenue,
        operating_income,
        net_income,
        net_income_owners,
        total_equity,
        previous_total_equity,
        average_equity,
        total_assets,
        total_assets - total_equity as total_liabilities,
        eps_basic as eps,
        case when eps_basic is null then 'no basic EPS in the DART file' end as eps_null_reason,
        shares_derived,
        shares_null_reason,
        total_equity / shares_derived as bps,
        case
            when shares_derived is null then shares_null_reason
            when total_equity is null then 'no total equity in the DART file'
        end as bps_null_reason,
        case when average_equity > 0 then net_income_owners / average_equity end as roe,
        case
            when net_income_owners is null then 'no net income to owners in the DART file'
            when total_equity is null then 'no total equity in the DART file'
            when previous_total_equity is null then 'no total equity of the previous fiscal year'
            when average_equity <= 0 then 'average equity is not positive'
        end as roe_null_reason,
        case when previous_revenue > 0 then revenue / previous_revenue - 1 end as revenue_growth,
        case
            when revenue is null then 'no revenue in the DART file'
            when previous_revenue is null then 'no revenue of the previous fiscal year'
            when previous_revenue <= 0 then 'previous fiscal year revenue is not positive'
        end as revenue_growth_null_reason,
        source_file,
        source_line

    from shares

)

select * from final
