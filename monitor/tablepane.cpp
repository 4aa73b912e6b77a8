#include "tablepane.h"

#include <QHeaderView>
#include <QLabel>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>

namespace switchboard {

TablePane::TablePane(const QString& objectName, QAbstractItemModel* model, QWidget* parent)
    : QWidget(parent)
    , m_title(new QLabel(this))
    , m_view(new QTableView(this))
    , m_proxy(new QSortFilterProxyModel(this))
{
    setObjectName(objectName);
    m_title->setObjectName(objectName + QStringLiteral("Title"));
    QFont titleFont = m_title->font();
    titleFont.setBold(true);
    m_title->setFont(titleFont);

    m_proxy->setSourceModel(model);
    m_proxy->setSortRole(Qt::UserRole);
    m_proxy->setFilterKeyColumn(-1);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_proxy->setSortCaseSensitivity(Qt::CaseInsensitive);

    m_view->setObjectName(objectName + QStringLiteral("Table"));
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->setAlternatingRowColors(true);
    m_view->setWordWrap(false);
    m_view->setCornerButtonEnabled(false);
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    m_view->verticalHeader()->setDefaultSectionSize(m_view->fontMetrics().height() + 6);
    QHeaderView* header = m_view->horizontalHeader();
    header->setSectionsMovable(true);
    header->setStretchLastSection(true);
    header->setHighlightSections(false);
    header->setDefaultAlignment(Qt::AlignLeft | Qt::AlignVCenter);
    // Until real rows arrive, at least every header reads in full.
    header->resizeSections(QHeaderView::ResizeToContents);

    connect(m_proxy, &QAbstractItemModel::rowsInserted, this, &TablePane::fitColumns);
    connect(m_proxy, &QAbstractItemModel::dataChanged, this, &TablePane::fitColumns);
    connect(header, &QHeaderView::sectionResized, this, &TablePane::onSectionResized);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    layout->setSpacing(2);
    layout->addWidget(m_title);
    layout->addWidget(m_view);
}

void TablePane::setTitle(const QString& title)
{
    m_title->setText(title);
}

QString TablePane::title() const
{
    return m_title->text();
}

void TablePane::setFilterText(const QString& text)
{
    m_proxy->setFilterFixedString(text);
}

QByteArray TablePane::headerState() const
{
    return m_view->horizontalHeader()->saveState();
}

bool TablePane::restoreHeaderState(const QByteArray& state)
{
    QHeaderView* header = m_view->horizontalHeader();
    if (state.isEmpty() || !header->restoreState(state)) {
        return false;
    }
    m_sizedByOperator = true;
    // restoreState() sets the indicator without asking the view to sort by it.
    m_view->sortByColumn(header->sortIndicatorSection(), header->sortIndicatorOrder());
    return true;
}

void TablePane::setDefaultSort(int column, Qt::SortOrder order)
{
    m_view->sortByColumn(column, order);
}

void TablePane::setColumnHidden(int column, bool hidden)
{
    m_fitting = true;
    m_view->setColumnHidden(column, hidden);
    m_fitting = false;
    fitColumns();
}

int TablePane::contentWidth(int column) const
{
    // QTableView hides the public QAbstractItemView::sizeHintForColumn() as protected.
    const QAbstractItemView* view = m_view;
    return view->sizeHintForColumn(column);
}

void TablePane::fitColumns()
{
    if (m_sizedByOperator) {
        return;
    }
    // A long peer address or event text must not push every other column out of sight.
    constexpr int kMaxFittedWidth = 260;
    QHeaderView* header = m_view->horizontalHeader();
    const int last = header->logicalIndex(header->count() - 1); // stretched anyway
    m_fitting = true;
    for (int column = 0; column < header->count(); ++column) {
        if (column == last || header->isSectionHidden(column)) {
            continue;
        }
        const int wanted = std::min(std::max(contentWidth(column), header->sectionSizeHint(column)),
                                    kMaxFittedWidth);
        if (wanted > header->sectionSize(column)) {
            header->resizeSection(column, wanted);
        }
    }
    m_fitting = false;
}

void TablePane::onSectionResized(int logicalIndex)
{
    QHeaderView* header = m_view->horizontalHeader();
    if (m_fitting || logicalIndex == header->logicalIndex(header->count() - 1)) {
        return; // our own fitting, or the stretched last column following the view's width
    }
    m_sizedByOperator = true;
}

} // namespace switchboard
