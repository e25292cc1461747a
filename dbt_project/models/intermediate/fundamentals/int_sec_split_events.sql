{#-
    Stock splits, from two real sources:

    1. Vendor corporate actions (raw.corporate_actions, Yahoo chart events):
       the split is effective on its ex-date; it replaces a filing-derived
       split of the same ratio whose window contains the ex-date.
    2. The filings themselves: after a split, later filings restate per-share
       figures and share counts of earlier periods. A restatement of the same
       period by an exact N-for-1 ratio (per-share values divided by N, share
       counts multiplied by N; or the inverse for a 1-for-N reverse split) is
       a split. The split is known from the first filing on the new basis
       (`effective_from`): filings before it report on the old basis. The true
       ex-date lies in (last_old_basis_filed_date, effective_from].

    A filing-derived split needs evidence from at least two metrics (e.g.
    diluted EPS and diluted share count) so that an ordinary restatement that
    happens to halve a small EPS is not taken for a split; per-share values
    under 0.20 USD are ignored (cent rounding makes their ratios imprecise).
-#}
with

facts as (

    select * from {{ ref('int_sec_metric_facts') }}
    where metric in ('eps_diluted', 'eps_basic', 'diluted_shares', 'dividends_per_share')

),

versions as (

    select
        cik,
        metric,
        value_kind,
        period_start,
        period_end,
        filed_date,
        max(value) as value

    from facts
    group by cik, metric, value_kind, period_start, period_end, filed_date

),

consecutive as (

    select
        *,
        lag(value) over (
            partition by cik, metric, period_start, period_end order by filed_date
        ) as previous_value,
        lag(filed_date) over (
            partition by cik, metric, period_start, period_end order by filed_date
        ) as previous_filed_date

    from versions

),

ratios as (

    select
        cik,
        metric,
        period_start,
        period_end,
        previous_filed_date,
        filed_date,
        previous_value,
        value,
        -- new shares per old share implied by the restatement
        case
            when value_kind = 'per_share' then previous_value / value
            else value / previous_value
        end as implied_ratio

    from consecutive
    where previous_value is not null
        and previous_value * value > 0
        and (value_kind <> 'per_share' or (abs(value) >= 0.2 and abs(previous_value) >= 0.2))

),

candidates as (

    select
        *,
        case
            when implied_ratio >= 1.5 then round(implied_ratio)
            when implied_ratio <= 0.67 then 1.0 / round(1.0 / implied_ratio)
        end as split_ratio

    from ratios
    where implied_ratio >= 1.5 or implied_ratio <= 0.67

),

exact_candidates as (

    select * from candidates
    where abs(implied_ratio / split_ratio - 1) < 0.02

),

dated as (

    -- the split of a candidate is known from the first filing on the new basis
    -- after the candidate's old-basis filing
    select
        candidate.*,
        (
            select min(other.filed_date)
            from exact_candidates as other
            where other.cik = candidate.cik
                and other.split_ratio = candidate.split_ratio
                and other.filed_date > candidate.previous_filed_date
        ) as effective_from

    from exact_candidates as candidate

),

filing_splits as (

    select
        cik,
        split_ratio,
        effective_from,
        max(previous_filed_date) as last_old_basis_filed_date,
        count(*) as evidence_count,
        count(distinct metric) as evidence_metric_count

    from dated
    group by cik, split_ratio, effective_from
    having count(distinct metric) >= 2

),

vendor_splits as (

    select distinct
        tickers.cik,
        actions.split_ratio,
        actions.ex_date

    from {{ ref('stg_prices__corporate_actions') }} as actions
    inner join {{ ref('stg_sec__company_tickers') }} as tickers
        on actions.ticker = tickers.ticker
    where actions.action_type = 'split'

),

final as (

    -- a vendor split (exact ex-date) replaces the filing-derived split it explains
    select
        filing_splits.cik,
        cast(filing_splits.split_ratio as {{ type_double() }}) as split_ratio,
        filing_splits.effective_from,
        filing_splits.last_old_basis_filed_date,
        'sec_filings' as split_source,
        filing_splits.evidence_count,
        filing_splits.evidence_metric_count

    from filing_splits
    where not exists (
        select 1 from vendor_splits
        where vendor_splits.cik = filing_splits.cik
            and abs(vendor_splits.split_ratio - filing_splits.split_ratio) < 1e-9
            and vendor_splits.ex_date > filing_splits.last_old_basis_filed_date
            and vendor_splits.ex_date <= filing_splits.effective_from
    )

    union all

    select
        cik,
        cast(split_ratio as {{ type_double() }}) as split_ratio,
        ex_date as effective_from,
        cast(null as date) as last_old_basis_filed_date,
        'corporate_actions' as split_source,
        cast(null as bigint) as evidence_count,
        cast(null as bigint) as evidence_metric_count

    from vendor_splits

)

select * from final
